"""``emibench collect | tables | figures | report``: from the run folders to the HTML report.

Heavy imports (pandas, matplotlib, papermill) happen inside the commands, so ``emibench --help``
stays fast. ``--config`` takes the ``report`` config section as one JSON word.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from emibench.steps import json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "collect",
        help="gather every run's metrics.json into the long results table and the DVC metrics file",
        description="Read each run's metrics.json (docs/architecture.md) and write one long table "
        "(system, variant, features, modalities, seed, split, emotion, pearson, n_clips, run_dir) and a "
        "small JSON of each system's and table row's mean Pearson averaged over seeds, for `dvc metrics show`.",
    )
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--runs", nargs="+", help="every run's metrics.json")
    given.add_argument(
        "--tables",
        nargs="+",
        help="with --conditions: each condition's long table, written by its predict job",
    )
    p.add_argument("--results", required=True, help="output: the long results table (.tsv)")
    p.add_argument("--metrics", required=True, help="output: the summary metrics JSON")
    p.add_argument(
        "--config",
        type=json_arg,
        required=True,
        help="JSON: the report config section (its tables name the rows)",
    )
    p.add_argument(
        "--conditions",
        action="store_true",
        help="the runs' metrics.json under robustness conditions: a condition column, and "
        "metrics {split: {condition: {system: {variant: r}}}}",
    )
    p.add_argument(
        "--lock",
        help="envs/requirements.lock: the metrics get an `environment` entry (the lock's sha256, "
        "installed packages that differ from it, key versions, the runs' devices)",
    )
    p.set_defaults(func=_collect)

    p = sub.add_parser(
        "check-scores",
        help="compare a results table's scores with its committed reference (reference/*.tsv)",
        description="Compare the Pearson r of every (system, variant, seed, split, emotion) of "
        "a results table (results.tsv) with a reference file; exit 1 naming every row that "
        "moved by more than the tolerance, appeared or disappeared. --update writes the "
        "reference from the table instead (commit it with the change that moved the scores, "
        "saying why).",
    )
    p.add_argument("--results", required=True, help="results.tsv of `emibench collect`")
    p.add_argument(
        "--reference", required=True, help="the reference file, e.g. reference/synthetic.tsv"
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="largest |new - old| that counts as the same score (default 1e-6)",
    )
    p.add_argument("--update", action="store_true", help="write the reference from --results")
    p.set_defaults(func=_check_scores)

    p = sub.add_parser(
        "tables",
        help="the paper's tables (Table 1-3, per emotion, systems) as CSV, Markdown and LaTeX",
        description="Score every configured table row (mean ± sd over seeds, bootstrap interval over clips "
        "of the seed-averaged predictions, the paper's number, the oracle ceiling for the synthetic set) "
        "and write each output path: its stem names the table, its suffix (.csv, .md, .tex) the format. "
        "table1.tex is re-emitted from --table1-csv.",
    )
    _data_arguments(p)
    p.add_argument("--table1-csv", help="Table 1 as written by the dataset step (for table1.tex)")
    p.add_argument(
        "--outputs", nargs="+", required=True, help="table files to write, e.g. tables/table2.md"
    )
    p.set_defaults(func=_tables)

    p = sub.add_parser(
        "figures",
        help="the report's figures (seaborn PNGs)",
        description="Write each output path; its stem names the figure: per_emotion, modality_ablation, "
        "scatter, stage1_curves, fusion_weights, pairwise (emibench.report.figures.FIGURES).",
    )
    _data_arguments(p)
    p.add_argument(
        "--tables", nargs="+", required=True, help="the table CSVs written by `emibench tables`"
    )
    p.add_argument(
        "--stage1-logs", nargs="*", default=[], help="Stage I log.tsv files (one per pair)"
    )
    p.add_argument(
        "--outputs",
        nargs="+",
        required=True,
        help="figure files to write, e.g. figures/scatter.png",
    )
    p.set_defaults(func=_figures)

    p = sub.add_parser(
        "leaderboard",
        help="the leaderboard (score, tie group, robustness, cost per system) and the cost table",
        description="One row per system of the leaderboard table (report.leaderboard.table): its "
        "score and interval and tie group (from the table's CSV), its mean drop under the "
        "robustness conditions, and its costs from measured files: metrics.json and timing.json "
        "of its runs, the benchmark file of its train or stack job, Stage I's benchmark files. "
        "Each output's stem names the table (leaderboard: .csv, .md, .tex, .html; costs: .csv, "
        ".md, .tex, every system and variant). docs/report.md.",
    )
    p.add_argument(
        "--results", required=True, help="the long results table from `emibench collect`"
    )
    p.add_argument(
        "--table", required=True, help="the leaderboard table's CSV from `emibench tables`"
    )
    p.add_argument(
        "--robustness", default="", help="the robustness results table; empty without conditions"
    )
    p.add_argument(
        "--benchmarks",
        type=json_arg,
        required=True,
        help='JSON: {"system/variant": the benchmark TSV of its train or stack job}',
    )
    p.add_argument(
        "--stage1-benchmarks",
        type=json_arg,
        default={},
        help='JSON: {"Stage I seed": [the benchmark TSVs of its jobs]}',
    )
    p.add_argument("--config", type=json_arg, required=True, help="JSON: the report config section")
    p.add_argument("--outputs", nargs="+", required=True, help="table files to write")
    p.set_defaults(func=_leaderboard)

    p = sub.add_parser(
        "robustness-tables",
        help="the robustness tables (system x condition, comparisons, fusion weights)",
        description="Score every report.robustness row under every condition against its clean "
        "score (mean and sd over seeds, drop from clean, bootstrap intervals over clips, paired "
        "between clean and condition; the synthetic oracle under the condition) and write each "
        "output path: its stem names the table (robustness, robustness_compare, "
        "robustness_weights), its suffix the format (.csv, .md, .tex). docs/robustness.md.",
    )
    _data_arguments(p)
    p.add_argument("--clean", required=True, help="the clean results table (results.tsv)")
    p.add_argument(
        "--conditions",
        type=json_arg,
        required=True,
        help="JSON: the robustness config section (the conditions' ops)",
    )
    p.add_argument("--outputs", nargs="+", required=True, help="table files to write")
    p.set_defaults(func=_robustness_tables)

    p = sub.add_parser(
        "robustness-figures",
        help="the robustness figures (degradation curves, drops, fusion weights)",
        description="Write each output path from the robustness table CSVs; its stem names the "
        "figure: robustness (curves over SNR and occluded share, drops per condition), "
        "robustness_weights (fusion weights per condition).",
    )
    p.add_argument(
        "--tables", nargs="+", required=True, help="robustness.csv and robustness_weights.csv"
    )
    p.add_argument(
        "--conditions",
        type=json_arg,
        required=True,
        help="JSON: the robustness config section (SNRs and occluded shares of the conditions)",
    )
    p.add_argument("--split", default="valid", help="the split drawn (where the tables have it)")
    p.add_argument("--outputs", nargs="+", required=True, help="figure files to write")
    p.set_defaults(func=_robustness_figures)

    p = sub.add_parser(
        "report",
        help="execute the report notebook with papermill and export it to standalone HTML",
        description="Run the parameterised notebook (its `parameters`-tagged cell is replaced by the -p "
        "values; a value that parses as JSON is passed parsed) in the python3 kernel, save the executed "
        "notebook, and export HTML with inputs hidden and images embedded.",
    )
    p.add_argument("--notebook", required=True, help="the template notebook")
    p.add_argument("--out-notebook", required=True, help="output: the executed notebook")
    p.add_argument("--html", required=True, help="output: the standalone HTML report")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        help="a notebook parameter",
    )
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    p.add_argument("--timeout", type=int, default=600, help="seconds one cell may run")
    p.set_defaults(func=_report)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--results", required=True, help="the long results table from `emibench collect`"
    )
    p.add_argument(
        "--manifest", required=True, help="the manifest (train/valid labels, audio presence)"
    )
    p.add_argument("--test-labels", default="", help="test labels CSV; empty when hidden")
    p.add_argument(
        "--latents", default="", help="the synthetic generator's latents.csv (oracle, conditions)"
    )
    p.add_argument("--config", type=json_arg, required=True, help="JSON: the report config section")


def _inputs(args: argparse.Namespace, splits: list[str] | None = None):
    """(report config, results table, {split: labels}) from the data arguments; ``splits``
    default to the config's ``splits``."""
    from emibench.data.tables import read_table
    from emibench.report.collect import read_labels

    cfg = args.config
    splits = splits or cfg["splits"]
    labels = {s: read_labels(s, args.manifest, args.test_labels or None) for s in splits}
    return cfg, read_table(args.results), labels


def _collect(args: argparse.Namespace) -> int:
    from emibench.data.tables import write_table
    from emibench.environment.record import environment_record
    from emibench.report.collect import (
        collect_runs,
        condition_metrics,
        merge_tables,
        run_devices,
        summary_metrics,
    )
    from emibench.settings import ConfigError

    if args.tables and not args.conditions:
        raise ConfigError(
            "collect --tables merges the robustness conditions' tables: add --conditions"
        )
    results = merge_tables(args.tables) if args.tables else collect_runs(args.runs, args.conditions)
    write_table(results, args.results)
    if args.conditions:
        summary = condition_metrics(results)
    else:
        rows = {name: body["rows"] for name, body in args.config["tables"].items()}
        summary = summary_metrics(results, rows)
    if args.lock:
        summary["environment"] = environment_record(args.lock, run_devices(args.runs))
    Path(args.metrics).parent.mkdir(parents=True, exist_ok=True)
    Path(args.metrics).write_text(json.dumps(summary, indent=2) + "\n")
    n_pairs = len(results[["system", "variant"]].drop_duplicates())
    log.info(
        "done: %d %s (%d system/variant pairs) -> %s, %s; 0 failed",
        len(args.tables or args.runs),
        "condition tables" if args.tables else "runs",
        n_pairs,
        args.results,
        args.metrics,
    )
    return 0


def _check_scores(args: argparse.Namespace) -> int:
    from emibench.report.reference import (
        TOLERANCE,
        describe_moved,
        moved_scores,
        read_scores,
        write_reference,
    )

    if args.update:
        n = write_reference(args.results, args.reference)
        log.info("wrote %d scores of %s to %s", n, args.results, args.reference)
        return 0
    tolerance = TOLERANCE if args.tolerance is None else args.tolerance
    reference = read_scores(args.reference)
    moved = moved_scores(reference, read_scores(args.results), tolerance)
    if len(moved):
        log.error(
            "%s against %s: %s",
            args.results,
            args.reference,
            describe_moved(moved, len(reference), tolerance),
        )
        return 1
    log.info(
        "%s: all %d scores equal %s (tolerance %g)",
        args.results,
        len(reference),
        args.reference,
        tolerance,
    )
    return 0


def _tables(args: argparse.Namespace) -> int:
    from emibench.report.names import TABLE1
    from emibench.report.pairwise import parse_leaderboard
    from emibench.report.tables import (
        BootstrapSettings,
        TableBuilder,
        parse_tables,
        table1_latex,
    )

    cfg, results, labels = _inputs(args)
    specs = parse_tables(cfg["tables"])
    builder = TableBuilder(
        results,
        specs,
        labels,
        BootstrapSettings(**cfg["bootstrap"]),
        cfg["splits"],
        per_emotion_rows=cfg["per_emotion_rows"],
        primary_split=cfg["split"],
        latents=args.latents or None,
        digits=cfg["digits"],
        leaderboard=parse_leaderboard(cfg, specs),
    )
    for path in args.outputs:
        name = Path(path).stem
        if name == TABLE1:
            if not args.table1_csv or Path(path).suffix != ".tex":
                raise ValueError(f"{path}: table1 is re-emitted as .tex only, from --table1-csv")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(table1_latex(args.table1_csv))
        else:
            builder.write(name, path)
        log.info("wrote %s", path)
    log.info("done: %d table files; 0 failed", len(args.outputs))
    return 0


def _figures(args: argparse.Namespace) -> int:
    from emibench.report import figures
    from emibench.report.tables import parse_tables

    split = args.config["split"]
    cfg, results, labels = _inputs(args, [split])
    inputs = figures.FigureInputs(
        results=results,
        specs=parse_tables(cfg["tables"]),
        settings=cfg,
        tables={Path(p).stem: p for p in args.tables},
        labels=labels[split],
        split=split,
        stage1_logs=args.stage1_logs,
        manifest=args.manifest,
        latents=args.latents or None,
    )
    for path in args.outputs:
        figures.draw(Path(path).stem, inputs, path)
        log.info("wrote %s", path)
    log.info("done: %d figures; 0 failed", len(args.outputs))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from emibench.data.tables import read_table
    from emibench.report.costs import cost_frame
    from emibench.report.leaderboard import (
        caption,
        leaderboard_frame,
        robustness_drops,
        write_costs,
        write_leaderboard,
    )
    from emibench.report.names import COSTS, LEADERBOARD
    from emibench.report.tables import BootstrapSettings

    cfg = args.config
    results = read_table(args.results)
    costs = cost_frame(results, args.benchmarks, args.stage1_benchmarks)
    robust = read_table(args.robustness) if args.robustness else None
    drops, drop_split = robustness_drops(results, robust, cfg["split"])
    frame = leaderboard_frame(read_table(args.table), costs, cfg["split"], drops, drop_split)
    n = len(frame)
    boot = BootstrapSettings(**cfg["bootstrap"])
    text = caption(
        Path(args.table).stem, cfg["split"], boot.level, boot.n_resamples, n * (n - 1) // 2
    )
    for path in args.outputs:
        name = Path(path).stem
        if name == LEADERBOARD:
            write_leaderboard(frame, text, cfg["digits"], path)
        elif name == COSTS:
            write_costs(costs, path)
        else:
            raise ValueError(f"{path}: unknown table {name!r}; tables: {LEADERBOARD}, {COSTS}")
        log.info("wrote %s", path)
    log.info(
        "done: leaderboard of %d systems, costs of %d system/variant pairs; 0 failed",
        n,
        len(costs),
    )
    return 0


def _robustness_tables(args: argparse.Namespace) -> int:
    from emibench.data.tables import read_table
    from emibench.report.robustness import RobustnessBuilder
    from emibench.robustness.spec import robustness_settings

    conditions = robustness_settings(args.conditions)
    cfg, results, labels = _inputs(args, list(conditions.splits))
    builder = RobustnessBuilder(
        read_table(args.clean),
        results,
        labels,
        conditions.parsed,
        cfg,
        latents=args.latents or None,
    )
    for path in args.outputs:
        builder.write(Path(path).stem, path)
        log.info("wrote %s", path)
    log.info(
        "done: %d robustness table files, %d rows x %d conditions; 0 failed",
        len(args.outputs),
        len(builder.rows),
        len(builder.conditions),
    )
    return 0


def _robustness_figures(args: argparse.Namespace) -> int:
    from emibench.report import robustness_figures
    from emibench.robustness.spec import robustness_settings

    conditions = robustness_settings(args.conditions).parsed
    csvs = {Path(p).stem: p for p in args.tables}
    missing = [t for t in ("robustness", "robustness_weights") if t not in csvs]
    if missing:
        raise ValueError(f"--tables lacks {missing}")
    for path in args.outputs:
        name = Path(path).stem
        if name == "robustness":
            robustness_figures.degradation(csvs["robustness"], conditions, path, args.split)
        elif name == "robustness_weights":
            robustness_figures.weights(csvs["robustness_weights"], path, args.split)
        else:
            raise ValueError(
                f"{path}: unknown figure {name!r}; figures: {', '.join(robustness_figures.FIGURES)}"
            )
        log.info("wrote %s", path)
    log.info("done: %d robustness figures; 0 failed", len(args.outputs))
    return 0


def _report(args: argparse.Namespace) -> int:
    from emibench.report.report import execute_notebook, export_html, parse_parameters

    params = parse_parameters(args.parameter)
    execute_notebook(
        args.notebook, args.out_notebook, params, kernel=args.kernel, timeout_s=args.timeout
    )
    size = export_html(args.out_notebook, args.html)
    log.info(
        "done: report %s (%.0f kB), notebook %s; 0 failed",
        args.html,
        size / 1024,
        args.out_notebook,
    )
    return 0

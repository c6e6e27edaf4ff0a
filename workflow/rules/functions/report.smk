# Functions (input functions, targets, params) for the rules in workflow/rules/report.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.
# Table and figure names are the library's (emibench.report.names).

from emibench.report.names import (
    COSTS,
    EXTRA_TABLES,
    FIGURES,
    LEADERBOARD,
    ROBUSTNESS_FIGURES,
    ROBUSTNESS_TABLES,
    TABLE_FORMATS,
)

REPORT = config["report"]
TABLES = [*REPORT["tables"], *EXTRA_TABLES]
LEADERBOARD_TABLE = REPORT["leaderboard"].get("table") or REPORT["per_emotion_rows"]
STAGE1_LOGS = expand(PATHS["stage1_log"], pair=PAIRS, seed=STAGE1_SEEDS)
SYNTHETIC = config["dataset"]["source"] == "synthetic"


def table_files():
    """Every table of report.tables, the per-emotion and pairwise tables, in every format."""
    return expand(PATHS["table"], table=TABLES, ext=TABLE_FORMATS)


def figure_files():
    return expand(PATHS["figure"], figure=FIGURES)


def leaderboard_files():
    """The leaderboard (CSV, Markdown, LaTeX, sortable HTML) and the cost table."""
    return expand(
        PATHS["table"], table=LEADERBOARD, ext=[*TABLE_FORMATS, "html"]
    ) + expand(PATHS["table"], table=COSTS, ext=TABLE_FORMATS)


def job_benchmarks():
    """{"system/variant": the benchmark file of the job that trains or stacks its seeds}."""
    return {
        f"{system}/{variant}": bench_path(
            "stack" if v.kind == "stack" else "train", "system", "variant"
        ).format(system=system, variant=variant)
        for (system, variant), v in PLAN.variants.items()
        if v.kind != "fuse"
    }


def stage1_benchmarks():
    """{Stage I seed: the benchmark files of its jobs (one per pair)}."""
    return {
        str(seed): [
            bench_path("stage1", "pair", "seed").format(pair=pair, seed=seed)
            for pair in PAIRS
        ]
        for seed in STAGE1_SEEDS
    }


def leaderboard_inputs(wildcards):
    """The leaderboard's inputs: the results and its table's CSV, the robustness results (with
    conditions), the measured files the costs come from."""
    inputs = {
        "results": PATHS["results_table"],
        "table": PATHS["table"].format(table=LEADERBOARD_TABLE, ext="csv"),
        "benchmarks": list(job_benchmarks().values()),
        "stage1": [p for paths in stage1_benchmarks().values() for p in paths],
        "timings": [
            os.path.join(PLAN.run_dir(*run), "timing.json")
            for run in PLAN.runs()
            if PLAN.variants[run[:2]].kind != "fuse"
        ],
    }
    if CONDITIONS:
        inputs["robustness"] = PATHS["robustness_results"]
    return inputs


def report_labels(wildcards):
    """Label inputs of tables and figures: the manifest, test labels and synthetic latents."""
    inputs = {"manifest": PATHS["manifest"]}
    if config["dataset"]["test_labels"]:
        inputs["test_labels"] = raw(config["dataset"]["test_labels"])
    if SYNTHETIC:
        inputs["latents"] = PATHS["latents"]
    return inputs


def optional_arg(flag, name):
    """Params function: ``--flag <input.name>`` when that input exists, else nothing."""

    def arg(wildcards, input):
        return f"{flag} {input[name]}" if name in input.keys() else ""

    return arg


def robustness_report_files(kind):
    """The robustness tables (Markdown) or figures the report shows; none without conditions."""
    if not CONDITIONS:
        return []
    if kind == "tables":
        return expand(PATHS["table"], table=ROBUSTNESS_TABLES, ext="md")
    return robustness_figure_files()


def report_parameters(wildcards, input, output):
    """The notebook's parameters as ``-p key value`` pairs, quoted for the shell."""
    params = {
        "dataset": DATASET,
        "results_dir": R,
        "results_table": input.results,
        "metrics": input.metrics,
        "table1_md": input.table1_md,
        "data_report": input.data_report,
        "tables": {
            Path(p).stem: p
            for p in [*input.tables, *input.leaderboard]
            if p.endswith(".md")
        },
        "figures": {Path(p).stem: p for p in input.figures},
        "leaderboard": next(p for p in input.leaderboard if p.endswith(".html")),
        "robustness": {
            "tables": {Path(p).stem: p for p in input.robustness_tables},
            "figures": {Path(p).stem: p for p in input.robustness_figures},
        },
        "config": config,
    }
    return " ".join(f"-p {key} {as_json(value)}" for key, value in params.items())


def report_targets():
    """Final outputs of workflow/rules/report.smk for `rule all`."""
    return [
        PATHS["results_table"],
        PATHS["metrics"],
        *table_files(),
        *figure_files(),
        *leaderboard_files(),
        PATHS["report_nb"],
        PATHS["report_html"],
    ]

"""The paper's tables from the collected runs, as CSV, Markdown and LaTeX.

Every cell of a score is the mean +- standard deviation over seeds of the run's own score (from
the results table) and, in brackets, the percentile bootstrap interval over clips of the score
of the seed-averaged predictions (``emibench.report.bootstrap``). The config section
``report.tables`` maps each table row to a (system, variant) and to the paper's numbers
(``emibench.report.paper_numbers``); for the synthetic set an oracle row gives the ceiling that
the generator's clean latent intensities reach against the (noisy, quantised) labels.

The table ``report.leaderboard.table`` (default: the per-emotion rows' table) also marks its tie
group on the primary split, from the paired comparisons of ``emibench.report.pairwise``, which
the table ``pairwise`` lists.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table, write_table
from emibench.emotions import EMOTIONS, format_id
from emibench.evaluate.metrics import pearson_per_emotion
from emibench.report.bootstrap import bootstrap_pearson
from emibench.report.collect import aligned, run_dirs, run_predictions
from emibench.report.names import (
    GENERATED_TABLES,
    PAIRWISE,
    PER_EMOTION,
)
from emibench.report.pairwise import (
    SYSTEMS_FAMILY,
    Compared,
    LeaderboardSpec,
    compare_family,
    p_text,
    pairwise_frame,
    ranked_pairs,
    tie_group,
)
from emibench.report.paper_numbers import PAPER_TAGS, paper_number

log = logging.getLogger(__name__)

SCORES = (*EMOTIONS, "mean")  # the seven numbers of a score: six emotions, then their mean
ORACLE_KEY = "oracle"

FORMATS = ("csv", "md", "tex")


@dataclass(frozen=True)
class TableRow:
    key: str
    label: str
    system: str
    variant: str
    paper: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class BootstrapSettings:
    n_resamples: int = 1000
    seed: int = 0
    level: float = 0.95


@dataclass
class Score:
    """One (system, variant) on one split; arrays are (7,) in SCORES order, NaN where unknown.

    ``mean``/``std``: over seeds, from metrics.json; ``low``/``high``: bootstrap interval over
    clips of the mean-over-seeds score; ``ensemble``: the score of the seed-averaged predictions;
    ``samples``: (B,) the resampled mean scores (None without labels), paired across rows.
    """

    features: str
    modalities: str
    n_seeds: int
    mean: np.ndarray
    std: np.ndarray
    ensemble: np.ndarray = field(default_factory=lambda: np.full(len(SCORES), np.nan))
    low: np.ndarray = field(default_factory=lambda: np.full(len(SCORES), np.nan))
    high: np.ndarray = field(default_factory=lambda: np.full(len(SCORES), np.nan))
    samples: np.ndarray | None = None


def parse_tables(tables_cfg: dict) -> dict[str, TableSpec]:
    """``report.tables`` as TableSpecs; every paper id is checked against PAPER_NUMBERS."""
    specs = {}
    for name, body in tables_cfg.items():
        if name in GENERATED_TABLES:
            raise ValueError(
                f"report.tables.{name}: {list(GENERATED_TABLES)} are the names of built tables"
            )
        rows = []
        for i, row in enumerate(body.get("rows", [])):
            where = f"report.tables.{name}.rows[{i}]"
            for key in ("key", "label", "system", "variant"):
                if key not in row:
                    raise KeyError(f"{where}: missing key {key!r}")
            paper = tuple(row.get("paper", ()))
            for pid in paper:
                paper_number(pid)
            rows.append(TableRow(row["key"], row["label"], row["system"], row["variant"], paper))
        keys = [r.key for r in rows]
        if len(set(keys)) != len(keys) or ORACLE_KEY in keys:
            raise ValueError(
                f"report.tables.{name}: row keys must be unique and not {ORACLE_KEY!r}"
            )
        specs[name] = TableSpec(name, body.get("title", name), tuple(rows))
    return specs


def score_runs(
    results: pd.DataFrame,
    system: str,
    variant: str,
    split: str,
    labels: pd.DataFrame,
    boot: BootstrapSettings,
) -> Score:
    """Seed statistics from the results table and, where labels exist, the bootstrap interval of
    the mean-over-seeds score and the score of the seed-averaged predictions."""
    sel = results[
        (results["system"] == system)
        & (results["variant"] == variant)
        & (results["split"] == split)
    ]
    by_seed = sel.pivot_table(index="seed", columns="emotion", values="pearson")[list(SCORES)]
    values = by_seed.to_numpy(np.float64)  # (seeds, 7)
    n = len(values)
    score = Score(
        features=str(sel["features"].iloc[0]),
        modalities=str(sel["modalities"].iloc[0]),
        n_seeds=n,
        mean=values.mean(axis=0),
        std=values.std(axis=0, ddof=1) if n > 1 else np.full(len(SCORES), np.nan),
    )
    if len(labels):
        what = f"{system}/{variant} {split}"
        runs = [
            aligned(labels, frame, what)
            for frame in run_predictions(run_dirs(results, system, variant), split)
        ]
        y, preds = runs[0][0], np.stack([p for _, p in runs])  # (N, 6), (S, N, 6)
        res = bootstrap_pearson(y, preds, boot.n_resamples, boot.seed, boot.level)
        if abs(res.mean_point - score.mean[-1]) > 1e-3:
            log.warning(
                "%s: mean Pearson recomputed from the predictions (%.4f) differs from metrics.json (%.4f)",
                what,
                res.mean_point,
                score.mean[-1],
            )
        ens = pearson_per_emotion(y, preds.mean(axis=0))
        score.ensemble = np.array([*ens.values(), np.mean(list(ens.values()))])
        score.low = np.append(res.low, res.mean_low)
        score.high = np.append(res.high, res.mean_high)
        score.samples = res.samples
    return score


def oracle_ceiling(latents_path: str | Path, labels: pd.DataFrame) -> np.ndarray:
    """(7,) Pearson of the generator's clean ``latent_<Emotion>`` with the labels, and the mean."""
    latents = read_table(latents_path)
    columns = [f"latent_{e}" for e in EMOTIONS]
    missing = [c for c in ("id", *columns) if c not in latents.columns]
    if missing:
        raise KeyError(f"{latents_path}: missing columns {missing}")
    latents["id"] = latents["id"].map(format_id)
    latents = latents.set_index("id")[columns].set_axis(list(EMOTIONS), axis=1)
    y, p = aligned(labels, latents, f"oracle latents {latents_path}")
    per = np.array(list(pearson_per_emotion(y, p).values()))
    return np.append(per, per.mean())


class TableBuilder:
    """Scores every configured row once, then renders any table in any format."""

    def __init__(
        self,
        results: pd.DataFrame,
        specs: dict[str, TableSpec],
        labels: dict[str, pd.DataFrame],
        boot: BootstrapSettings,
        splits: list[str],
        per_emotion_rows: str,
        primary_split: str = "valid",
        latents: str | Path | None = None,
        digits: int = 3,
        leaderboard: LeaderboardSpec | None = None,
    ):
        self.specs = specs
        self.leaderboard = leaderboard or LeaderboardSpec(per_emotion_rows)
        if self.leaderboard.table not in specs:
            raise KeyError(f"report.leaderboard.table: no table {self.leaderboard.table!r}")
        self.splits = [s for s in splits if s in set(results["split"])]
        if primary_split not in self.splits:
            raise ValueError(f"report.split {primary_split!r} has no runs in the results table")
        self.primary = primary_split
        self.boot = boot
        self.digits = digits
        if per_emotion_rows not in specs:
            raise KeyError(
                f"report.per_emotion_rows: no table {per_emotion_rows!r} in report.tables"
            )
        self.per_emotion_rows = per_emotion_rows
        available = set(zip(results["system"], results["variant"]))
        self.scores: dict[tuple[str, str, str], Score] = {}
        for spec in specs.values():
            for row in spec.rows:
                if (row.system, row.variant) not in available:
                    raise KeyError(
                        f"report.tables.{spec.name} row {row.key!r}: no runs of system {row.system!r} "
                        f"variant {row.variant!r} in the results table; runs: {sorted(available)}"
                    )
                for split in self.splits:
                    ident = (row.system, row.variant, split)
                    if ident not in self.scores:
                        self.scores[ident] = score_runs(
                            results,
                            row.system,
                            row.variant,
                            split,
                            labels.get(split, _NO_LABELS),
                            boot,
                        )
        self._pairwise: list[dict] | None = None
        self.oracle: dict[str, np.ndarray] = {}
        if latents:
            for split in self.splits:
                if len(labels.get(split, _NO_LABELS)):
                    self.oracle[split] = oracle_ceiling(latents, labels[split])

    # --- paired comparisons --------------------------------------------------------------------
    def _compared(self, rows, split: str) -> list[Compared]:
        m = SCORES.index("mean")
        out = []
        for row in rows:
            score = self.scores[(row.system, row.variant, split)]
            out.append(Compared(row.key, row.label, float(score.mean[m]), score.samples))
        return out

    def compared_splits(self) -> list[str]:
        """The splits with labels (bootstrap samples), primary first."""
        rows = self.specs[self.leaderboard.table].rows
        if not rows:
            return []
        first = rows[0]
        labelled = [
            s
            for s in self.splits
            if self.scores[(first.system, first.variant, s)].samples is not None
        ]
        return sorted(labelled, key=lambda s: s != self.primary)

    def pairwise_records(self) -> list[dict]:
        """Every family's paired comparisons on every labelled split (``emibench.report.pairwise``)."""
        if self._pairwise is None:
            records = []
            level = self.boot.level
            for split in self.compared_splits():
                rows = self._compared(self.specs[self.leaderboard.table].rows, split)
                records += compare_family(SYSTEMS_FAMILY, split, ranked_pairs(rows), level)
                for ablation in self.leaderboard.ablations:
                    rows = self._compared(self.specs[ablation.table].rows, split)
                    full = next(r for r in rows if r.key == ablation.full)
                    pairs = [(r, full) for r in rows if r.key != ablation.full]
                    records += compare_family(f"ablations:{ablation.table}", split, pairs, level)
            self._pairwise = records
        return self._pairwise

    def pairwise_table(self) -> pd.DataFrame:
        """tables/pairwise.csv: every comparison (``emibench.report.pairwise.COLUMNS``)."""
        return pairwise_frame(self.pairwise_records())

    def ties(self, split: str) -> dict[str, str]:
        """Row key of the leaderboard table -> ``best``, ``tied`` or ``""`` on ``split``."""
        rows = self._compared(self.specs[self.leaderboard.table].rows, split)
        if any(r.samples is None for r in rows):
            return {}
        records = [
            r
            for r in self.pairwise_records()
            if r["family"] == SYSTEMS_FAMILY and r["split"] == split
        ]
        return tie_group(rows, records)

    # --- numbers -------------------------------------------------------------------------------
    def row_frame(self, name: str) -> pd.DataFrame:
        """A Table 2/3/systems table as numbers: one row per config row (and the oracle)."""
        spec = self.specs[name]
        m = SCORES.index("mean")
        records = []
        for row in spec.rows:
            rec: dict = {
                "key": row.key,
                "label": row.label,
                "system": row.system,
                "variant": row.variant,
            }
            for split in self.splits:
                s = self.scores[(row.system, row.variant, split)]
                rec.update(features=s.features, modalities=s.modalities)
                rec.update(
                    _split_numbers(
                        split, s.n_seeds, s.mean[m], s.std[m], s.ensemble[m], s.low[m], s.high[m]
                    )
                )
            for tag in self.paper_tags(name):
                ids = [p for p in row.paper if paper_number(p).short == tag]
                rec[f"paper_{tag}"] = paper_number(ids[0]).value if ids else np.nan
                rec[f"paper_{tag}_source"] = paper_number(ids[0]).source if ids else ""
            records.append(rec)
        if self.oracle:
            rec = {
                "key": ORACLE_KEY,
                "label": "Oracle (generator latents)",
                "system": ORACLE_KEY,
                "variant": "",
            }
            rec.update(features="latent", modalities="")
            for split in self.splits:
                value = self.oracle.get(split, np.full(len(SCORES), np.nan))[m]
                rec.update(_split_numbers(split, 0, value, np.nan, value, np.nan, np.nan))
            for tag in self.paper_tags(name):
                rec.update({f"paper_{tag}": np.nan, f"paper_{tag}_source": ""})
            records.append(rec)
        frame = pd.DataFrame(records)
        if name == self.leaderboard.table:
            ties = self.ties(self.primary)
            frame[f"{self.primary}_tie"] = [ties.get(k, "") for k in frame["key"]]
        return frame

    def paper_tags(self, name: str) -> list[str]:
        """The published sources a table's rows cite (``v1``, ``v3``, ...), one column each."""
        tags = [paper_number(p).short for row in self.specs[name].rows for p in row.paper]
        return list(dict.fromkeys(tags))

    def per_emotion_frame(self) -> pd.DataFrame:
        """Per-emotion scores on the primary split: a row per emotion (and ``mean``), columns
        ``<row key>`` (mean over seeds), ``<key>_std``, ``<key>_ci_low``, ``<key>_ci_high``, ``oracle``."""
        frame = pd.DataFrame({"emotion": list(SCORES)})
        for row in self.specs[self.per_emotion_rows].rows:
            s = self.scores[(row.system, row.variant, self.primary)]
            frame[row.key] = s.mean
            frame[f"{row.key}_std"] = s.std
            frame[f"{row.key}_ci_low"] = s.low
            frame[f"{row.key}_ci_high"] = s.high
        if self.primary in self.oracle:
            frame[ORACLE_KEY] = self.oracle[self.primary]
        return frame

    # --- text ----------------------------------------------------------------------------------
    def caption(self, name: str) -> str:
        level = round(100 * self.boot.level)
        what = (
            f"mean ± sd over seeds; [{level}% percentile bootstrap interval over clips, "
            f"{self.boot.n_resamples} resamples]"
        )
        if name == PER_EMOTION:
            return f"Pearson per emotion on {self.primary} ({what})."
        if name == PAIRWISE:
            return self.pairwise_caption()
        caption = f"{self.specs[name].title}: mean Pearson over the six emotions ({what})."
        if name == self.leaderboard.table:
            n = len(self.specs[name].rows)
            caption += (
                f" Tie group ({self.primary}): best is the highest mean; tied rows are not "
                f"distinguishable from it (paired bootstrap over clips, Holm-corrected over the "
                f"{n * (n - 1) // 2} pairs of this table at {1 - self.boot.level:g}; "
                "tables/pairwise)."
            )
        tags = self.paper_tags(name)
        if tags:
            sources = "; ".join(f"{t}: {PAPER_TAGS.get(t, t)}" for t in tags)
            caption += f" Paper <source>: the published validation score ({sources})."
        return caption

    def row_display(self, name: str, fmt: str) -> pd.DataFrame:
        """The rendered cells of a Table 2/3/systems table in ``md`` or ``tex``."""
        frame = self.row_frame(name)
        rho = r"$\rho$" if fmt == "tex" else "ρ"
        out = pd.DataFrame(
            {
                "Method": frame["label"],
                "Modalities": frame["modalities"],
                "Features": frame["features"],
            }
        )
        for split in self.splits:
            out[f"{rho} {split}"] = [
                self._cell(
                    r[f"{split}_mean"],
                    r[f"{split}_std"],
                    r[f"{split}_ci_low"],
                    r[f"{split}_ci_high"],
                    fmt,
                )
                if r["key"] != ORACLE_KEY
                else self._number(r[f"{split}_mean"])
                for _, r in frame.iterrows()
            ]
        for tag in self.paper_tags(name):
            out[f"Paper {tag}"] = [self._paper_cell(v) for v in frame[f"paper_{tag}"]]
        if f"{self.primary}_tie" in frame.columns:
            out[f"Tie group ({self.primary})"] = frame[f"{self.primary}_tie"].fillna("")
        return out

    def pairwise_caption(self) -> str:
        level = round(100 * self.boot.level)
        families = [f"the pairs of the {self.leaderboard.table} table"] + [
            f"each row of {a.table} minus its full model ({a.full})"
            for a in self.leaderboard.ablations
        ]
        return (
            f"Paired comparisons on {self.primary}: a − b is the difference in mean Pearson over "
            f"the six emotions (mean over seeds) [{level}% percentile interval of the paired "
            f"bootstrap over clips, {self.boot.n_resamples} resamples: both systems scored on the "
            "same drawn clips, each system's seeds averaged inside every resample; not corrected]. "
            "p: two-sided, from the paired bootstrap standard error (normal approximation). "
            "p (Holm): Holm-corrected within each family (" + "; ".join(families) + "). "
            f"Distinguishable: p (Holm) < {1 - self.boot.level:g}."
        )

    def pairwise_display(self) -> pd.DataFrame:
        """The rendered comparisons of the primary split, one row per pair."""
        frame = self.pairwise_table()
        frame = frame[frame["split"] == self.primary]
        n = self._number
        return pd.DataFrame(
            {
                "Family": frame["family"],
                "a": frame["a_label"],
                "b": frame["b_label"],
                "a − b": [
                    f"{_signed(d, self.digits)} [{_signed(lo, self.digits)}, "
                    f"{_signed(hi, self.digits)}]"
                    for d, lo, hi in zip(frame["diff"], frame["ci_low"], frame["ci_high"])
                ],
                "p": [p_text(p) for p in frame["p"]],
                "p (Holm)": [p_text(p) for p in frame["p_holm"]],
                "Distinguishable": ["yes" if d else "no" for d in frame["distinguishable"]],
                "a score": [n(v) for v in frame["a_mean"]],
                "b score": [n(v) for v in frame["b_mean"]],
            }
        )

    def per_emotion_display(self, fmt: str) -> pd.DataFrame:
        """Per-emotion cells: a row per system (and the oracle), a column per emotion and mean."""
        records = []
        for row in self.specs[self.per_emotion_rows].rows:
            s = self.scores[(row.system, row.variant, self.primary)]
            rec = {"Method": row.label}
            for i, e in enumerate(SCORES):
                rec[e] = self._cell(s.mean[i], s.std[i], s.low[i], s.high[i], fmt)
            records.append(rec)
        if self.primary in self.oracle:
            rec = {"Method": "Oracle (generator latents)"}
            rec.update({e: self._number(v) for e, v in zip(SCORES, self.oracle[self.primary])})
            records.append(rec)
        return pd.DataFrame(records).rename(columns={"mean": "Mean"})

    @staticmethod
    def _paper_cell(value: float) -> str:
        return "" if _missing(value) else f"{value:g}"

    def _number(self, value: float) -> str:
        return "" if _missing(value) else f"{value:.{self.digits}f}"

    def _cell(self, mean: float, std: float, low: float, high: float, fmt: str) -> str:
        if _missing(mean):
            return ""
        pm = r" $\pm$ " if fmt == "tex" else " ± "
        text = self._number(mean) + ("" if _missing(std) else pm + self._number(std))
        if not _missing(low):
            interval = f"[{self._number(low)}, {self._number(high)}]"
            text += r" {\scriptsize " + interval + "}" if fmt == "tex" else " " + interval
        return text

    # --- files ---------------------------------------------------------------------------------
    def write(self, name: str, path: str | Path) -> None:
        """Write table ``name`` to ``path`` in the format its suffix names (.csv, .md, .tex)."""
        fmt = Path(path).suffix.lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"{path}: table format must be one of {FORMATS}")
        if name not in (PER_EMOTION, PAIRWISE) and name not in self.specs:
            raise KeyError(
                f"{path}: no table {name!r}; tables: {[*self.specs, PER_EMOTION, PAIRWISE]}"
            )
        if fmt == "csv":
            frames = {PER_EMOTION: self.per_emotion_frame, PAIRWISE: self.pairwise_table}
            write_table(frames.get(name, lambda: self.row_frame(name))(), path)
            return
        if name == PER_EMOTION:
            display = self.per_emotion_display(fmt)
        elif name == PAIRWISE:
            display = self.pairwise_display()
        else:
            display = self.row_display(name, fmt)
        caption = self.caption(name)
        if fmt == "md":
            text = to_markdown(display, caption)
        else:
            raw = [
                c for c in display.columns if c.startswith(r"$\rho$") or c in SCORES or c == "Mean"
            ]
            text = to_latex(display, caption, f"tab:{name}", raw_columns=raw)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)


_NO_LABELS = pd.DataFrame(columns=list(EMOTIONS), dtype=float)


def _signed(value: float, digits: int) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _split_numbers(split, n_seeds, mean, std, ensemble, low, high) -> dict:
    return {
        f"{split}_mean": mean,
        f"{split}_std": std,
        f"{split}_n_seeds": n_seeds,
        f"{split}_ensemble": ensemble,
        f"{split}_ci_low": low,
        f"{split}_ci_high": high,
    }


# --- renderers ---------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "±": r"$\pm$",
    "ρ": r"$\rho$",
    "−": "$-$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text (not in cells we format as LaTeX)."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def to_markdown(frame: pd.DataFrame, caption: str = "") -> str:
    """A GitHub pipe table of string cells, with the caption as a paragraph below."""

    def cells(values) -> str:
        return "| " + " | ".join(str(v).replace("|", r"\|") for v in values) + " |"

    lines = [cells(frame.columns), "|" + "|".join(["---"] + [":---:"] * (frame.shape[1] - 1)) + "|"]
    lines += [
        cells(["" if _missing(v) else v for v in row]) for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines) + ("\n\n" + caption if caption else "") + "\n"


def to_latex(frame: pd.DataFrame, caption: str = "", label: str = "", raw_columns=()) -> str:
    """A booktabs ``table`` of string cells. Cells and headers of ``raw_columns`` are already
    LaTeX (``$\\pm$``) and pass through; every other cell and header is escaped."""
    raw = set(raw_columns)

    def cell(column, value) -> str:
        value = "" if _missing(value) else str(value)
        return value if column in raw else latex_escape(value)

    header = " & ".join(c if c in raw else latex_escape(c) for c in frame.columns)
    body = [
        " & ".join(cell(c, v) for c, v in zip(frame.columns, row)) + r" \\"
        for row in frame.itertuples(index=False)
    ]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\begin{tabular}{l" + "c" * (frame.shape[1] - 1) + "}",
        r"\toprule",
        header + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def table1_latex(table1_csv: str | Path) -> str:
    """Table 1 (written by the dataset step as CSV) re-emitted as LaTeX, every cell escaped."""
    frame = read_table(table1_csv).astype(str)
    return to_latex(frame, "Dataset partition statistics.", "tab:table1")

"""The leaderboard: one row per system of the leaderboard table, score, tie group, robustness, cost.

Inputs: the leaderboard table's CSV (``emibench tables``: score, interval, tie group on the
primary split), the cost table (``emibench.report.costs``) and, with robustness conditions, the
clean and robustness results tables, from which a system's robustness is its mean drop: clean
minus condition mean Pearson (each the mean over seeds, as in tables/robustness), averaged over
the conditions it was evaluated under. Written as CSV (numbers), Markdown, LaTeX and a sortable
HTML table (a click on a header sorts by that column; a small inline script).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import write_table
from emibench.report.costs import COLUMNS as COST_COLUMNS
from emibench.report.costs import device_label
from emibench.report.pairwise import BEST, TIED
from emibench.report.tables import ORACLE_KEY, _missing, to_latex, to_markdown

LEADERBOARD_FORMATS = ("csv", "md", "tex", "html")
COLUMNS = [
    "rank",
    "key",
    "label",
    "system",
    "variant",
    "split",
    "n_seeds",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "tie",
    "robustness_mean_drop",
    "robustness_n_conditions",
    "robustness_split",
    *[c for c in COST_COLUMNS if c not in ("system", "variant", "n_seeds")],
]
_TIE_ORDER = {BEST: 0, TIED: 1}


def robustness_drops(
    clean: pd.DataFrame, robust: pd.DataFrame | None, split: str
) -> tuple[dict[tuple[str, str], tuple[float, int]], str]:
    """{(system, variant): (mean drop over conditions, number of conditions)} on ``split`` (or,
    where the robustness table lacks it, its first split), and the split used."""
    if robust is None or robust.empty:
        return {}, ""
    splits = list(dict.fromkeys(robust["split"]))
    split = split if split in splits else splits[0]
    keys = ["system", "variant"]

    def means(table: pd.DataFrame, by: list[str]) -> pd.Series:
        sel = table[(table["split"] == split) & (table["emotion"] == "mean")]
        return sel.groupby(by)["pearson"].mean()

    base = means(clean, keys)
    under = means(robust, [*keys, "condition"]).reset_index()
    under["drop"] = [base.get((s, v), np.nan) - r for s, v, r in under[[*keys, "pearson"]].values]
    out = {}
    for (system, variant), group in under.dropna(subset=["drop"]).groupby(keys):
        out[(system, variant)] = (float(group["drop"].mean()), len(group))
    return out, split


def leaderboard_frame(
    table: pd.DataFrame,
    costs: pd.DataFrame,
    split: str,
    drops: dict[tuple[str, str], tuple[float, int]],
    drop_split: str = "",
) -> pd.DataFrame:
    """tables/leaderboard.csv: the rows of the leaderboard table (``emibench tables`` CSV, the
    oracle row left out) ranked by mean on ``split``, with their tie mark, mean drop and costs."""
    needed = [f"{split}_{c}" for c in ("mean", "std", "ci_low", "ci_high", "n_seeds")]
    missing = [c for c in ("key", "label", "system", "variant", *needed) if c not in table.columns]
    if missing:
        raise KeyError(f"leaderboard table: missing columns {missing}")
    rows = table[table["key"] != ORACLE_KEY].copy()
    rows["_order"] = range(len(rows))
    rows = rows.sort_values([f"{split}_mean", "_order"], ascending=[False, True])
    cost = costs.set_index(["system", "variant"])
    records = []
    for rank, (_, row) in enumerate(rows.iterrows(), start=1):
        ident = (row["system"], row["variant"])
        if ident not in cost.index:
            raise KeyError(f"leaderboard row {row['key']!r}: no costs of {ident[0]}/{ident[1]}")
        drop, n_conditions = drops.get(ident, (math.nan, 0))
        tie = row.get(f"{split}_tie", "")
        rec = {
            "rank": rank,
            "key": row["key"],
            "label": row["label"],
            "system": row["system"],
            "variant": row["variant"],
            "split": split,
            "n_seeds": int(row[f"{split}_n_seeds"]),
            "mean": row[f"{split}_mean"],
            "std": row[f"{split}_std"],
            "ci_low": row[f"{split}_ci_low"],
            "ci_high": row[f"{split}_ci_high"],
            "tie": "" if _missing(tie) else str(tie),
            "robustness_mean_drop": drop,
            "robustness_n_conditions": n_conditions,
            "robustness_split": drop_split if n_conditions else "",
        }
        rec |= {c: cost.loc[ident, c] for c in COLUMNS if c in cost.columns and c not in rec}
        records.append(rec)
    return pd.DataFrame(records, columns=COLUMNS)


def count_text(n: float) -> str:
    """A parameter count: 812, 12.3k, 4.56M, 1.20B."""
    if _missing(n):
        return ""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            return f"{n / limit:.3g}{suffix}" if n / limit < 100 else f"{n / limit:.0f}{suffix}"
    return f"{int(n)}"


def _time(value: float, unit: str, device: str) -> str:
    if _missing(value):
        return ""
    number = f"{value:.3g}" if value < 100 else f"{value:.0f}"
    return f"{number} {unit} ({device_label(device)})" if device else f"{number} {unit}"


def _mb(value: float) -> str:
    return "" if _missing(value) else f"{value:.0f} MB"


def fine_tuning_text(row) -> str:
    """What fine-tuning encoders adds to a row: encoder parameters its runs train, Stage I."""
    parts = []
    if row["n_encoder_params_trained"] > 0:
        parts.append(f"{count_text(row['n_encoder_params_trained'])} encoder params trained")
    if not _missing(row["stage1_seconds"]):
        peak = _mb(row["stage1_peak_rss_mb"])
        parts.append(
            f"Stage I jobs {row['stage1_seconds']:.0f} s" + (f", {peak} peak" if peak else "")
        )
    return "; ".join(parts)


def display_frame(frame: pd.DataFrame, digits: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rendered cells (Markdown/LaTeX/HTML text) and, for HTML sorting, each cell's key."""

    def n(value: float, signed: bool = False) -> str:
        if _missing(value):
            return ""
        return (f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}").replace("-", "−")

    split = frame["split"].iloc[0] if len(frame) else ""
    score = [
        n(r["mean"])
        + ("" if _missing(r["std"]) else f" ± {n(r['std'])}")
        + f" [{n(r['ci_low'])}, {n(r['ci_high'])}]"
        for _, r in frame.iterrows()
    ]
    robust = [
        f"{n(r['robustness_mean_drop'], True)} ({int(r['robustness_n_conditions'])})"
        if r["robustness_n_conditions"]
        else ""
        for _, r in frame.iterrows()
    ]
    text = pd.DataFrame(
        {
            "Rank": frame["rank"].astype(str),
            "Method": frame["label"],
            f"ρ {split}": score,
            "Tie group": frame["tie"],
            "Mean drop (conditions)": robust,
            "Params (trained)": [
                f"{count_text(r['n_params'])} ({count_text(r['n_trained_params'])})"
                for _, r in frame.iterrows()
            ],
            "Train time / run": [
                _time(r["train_seconds"], "s", r["device"]) for _, r in frame.iterrows()
            ],
            "Peak memory (job)": [_mb(v) for v in frame["peak_rss_mb"]],
            "Inference / clip": [
                _time(r["predict_ms_per_clip"], "ms", r["device"]) for _, r in frame.iterrows()
            ],
            "Encoder fine-tuning": [fine_tuning_text(r) for _, r in frame.iterrows()],
        }
    )
    keys = pd.DataFrame(
        {
            "Rank": frame["rank"],
            "Method": frame["label"],
            f"ρ {split}": frame["mean"],
            "Tie group": [_TIE_ORDER.get(t, 2) for t in frame["tie"]],
            "Mean drop (conditions)": frame["robustness_mean_drop"],
            "Params (trained)": frame["n_params"],
            "Train time / run": frame["train_seconds"],
            "Peak memory (job)": frame["peak_rss_mb"],
            "Inference / clip": frame["predict_ms_per_clip"],
            "Encoder fine-tuning": frame["n_encoder_params_trained"]
            + frame["stage1_seconds"].fillna(0),
        }
    )
    return text, keys


def caption(table: str, split: str, level: float, n_resamples: int, n_pairs: int) -> str:
    pct = round(100 * level)
    return (
        f"Leaderboard on {split}: the systems of the {table} table ranked by mean Pearson over the "
        f"six emotions (mean ± sd over seeds [{pct}% bootstrap interval over clips, {n_resamples} "
        "resamples]). Tie group: best, and tied for every system not distinguishable from it "
        f"(paired bootstrap over clips, Holm-corrected over the {n_pairs} pairs at "
        f"{1 - level:g}; tables/pairwise). Mean drop: clean minus condition score averaged over "
        "the robustness conditions the system was evaluated under (their number in brackets; "
        "docs/robustness.md). Costs from measured files (tables/costs): parameters in the model "
        "(those training updates in brackets); fitting time per run and inference time per clip "
        "(mean over seeds) on the device named: CPU times are the CPU's; peak resident memory "
        "of the job that trained every seed (Snakemake's sampled max_rss). Fused and late-fusion "
        "rows include their members. Encoder fine-tuning: encoder parameters the runs train "
        "themselves, and for systems on Stage I features the wall time of the Stage I jobs of one "
        "Stage I seed (both pairs: contrastive fine-tuning, then feature extraction), shared by "
        "every such system."
    )


_SORT_SCRIPT = """<script>
(function () {
  var table = document.getElementById("emibench-leaderboard");
  if (!table) { return; }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.style.cursor = "pointer";
    th.title = "sort by this column";
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("data-order") !== "asc";
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        if (x === "" || y === "") { return (x === "") - (y === ""); }
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
</script>
"""


def to_sortable_html(text: pd.DataFrame, keys: pd.DataFrame, caption_text: str) -> str:
    """An HTML table whose header cells sort the rows by each cell's ``data-sort`` key."""

    def key(value) -> str:
        if _missing(value):
            return ""
        return repr(float(value)) if isinstance(value, int | float | np.number) else str(value)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in text.columns)
    body = []
    for (_, shown), (_, sort) in zip(text.iterrows(), keys.iterrows()):
        cells = "".join(
            f'<td data-sort="{html.escape(key(sort[c]))}">{html.escape(str(shown[c]))}</td>'
            for c in text.columns
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        '<table id="emibench-leaderboard" class="dataframe">\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        f"<p><em>Click a column header to sort.</em> {html.escape(caption_text)}</p>\n"
        + _SORT_SCRIPT
    )


def write_leaderboard(frame: pd.DataFrame, caption_text: str, digits: int, path) -> None:
    """Write the leaderboard in the format of the path's suffix (LEADERBOARD_FORMATS)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt not in LEADERBOARD_FORMATS:
        raise ValueError(f"{path}: leaderboard format must be one of {LEADERBOARD_FORMATS}")
    if fmt == "csv":
        write_table(frame, path)
        return
    text, keys = display_frame(frame, digits)
    if fmt == "md":
        out = to_markdown(text, caption_text)
    elif fmt == "tex":
        out = to_latex(text, caption_text, "tab:leaderboard")
    else:
        out = to_sortable_html(text, keys, caption_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out)


def costs_display(costs: pd.DataFrame) -> pd.DataFrame:
    """The cost table's rendered cells, one row per system and variant."""
    return pd.DataFrame(
        {
            "System": costs["system"],
            "Variant": costs["variant"],
            "Kind": costs["kind"],
            "Members": costs["members"].fillna(""),
            "Params (trained)": [
                f"{count_text(r['n_params'])} ({count_text(r['n_trained_params'])})"
                for _, r in costs.iterrows()
            ],
            "Encoder params trained": [
                count_text(v) if v > 0 else "" for v in costs["n_encoder_params_trained"]
            ],
            "Train time / run": [
                _time(r["train_seconds"], "s", r["device"]) for _, r in costs.iterrows()
            ],
            "Peak memory (job)": [_mb(v) for v in costs["peak_rss_mb"]],
            "Inference / clip": [
                _time(r["predict_ms_per_clip"], "ms", r["device"]) for _, r in costs.iterrows()
            ],
            "Stage I jobs": [
                ""
                if _missing(r["stage1_seconds"])
                else f"{r['stage1_seconds']:.0f} s"
                + (f", {_mb(r['stage1_peak_rss_mb'])}" if _mb(r["stage1_peak_rss_mb"]) else "")
                for _, r in costs.iterrows()
            ],
        }
    )


COSTS_CAPTION = (
    "Cost of every system and variant, from measured files: parameters in the model (those "
    "training updates in brackets; encoder parameters a run fine-tunes itself apart), from "
    "metrics.json; fitting seconds per run and inference milliseconds per clip (predicting every "
    "clip of every split), mean over seeds, from timing.json, on the device named (CPU times are "
    "the CPU's); peak resident memory of the Snakemake job that trained (or stacked) every seed, "
    "from its benchmark file (max_rss, sampled). Fused rows (averages of other runs) cost their "
    "members; late-fusion rows add their members' costs to the regressor's (times and "
    "parameters summed, memory the largest job's). Stage I jobs: wall time of the Stage I jobs "
    "of one Stage I seed (both pairs: contrastive fine-tuning of the encoders, then feature "
    "extraction) and their peak memory, for rows on the Stage I features."
)


def write_costs(costs: pd.DataFrame, path) -> None:
    """Write the cost table in the format of the path's suffix (.csv, .md, .tex)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        write_table(costs, path)
        return
    if fmt not in ("md", "tex"):
        raise ValueError(f"{path}: cost table format must be one of ('csv', 'md', 'tex')")
    text = costs_display(costs)
    out = (
        to_markdown(text, COSTS_CAPTION)
        if fmt == "md"
        else to_latex(text, COSTS_CAPTION, "tab:costs")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out)

"""The robustness tables: every configured system under every condition, against its clean score.

Inputs are the clean results table (``R/results.tsv``) and the robustness table
(``R/robustness/results.tsv``, one row per run, condition, split and emotion), and the prediction
files they point to. For each row (a (system, variant)) and condition, on a labelled split:

- ``mean``/``std``: the mean Pearson over the six emotions, mean and sd over seeds;
- ``ci_low``/``ci_high``: the percentile bootstrap interval over clips of that mean-over-seeds
  score (``emibench.report.bootstrap``);
- ``drop``: clean minus condition (positive: the condition costs score), with its interval from
  the same resamples of the clips for both (a paired bootstrap: one seed gives every score the
  same resamples);
- ``oracle``: on the synthetic set, the generator's oracle under the condition for the row's
  modalities (``emibench.robustness.oracle``; empty where undefined).

Three tables: ``robustness`` (system x condition), ``robustness_compare`` (pairs of rows, e.g.
quality-aware minus mean fusion, condition by condition, with paired intervals of the difference
and of the difference of drops) and ``robustness_weights`` (a DSCMN run's mean fusion weights per
condition and their shift from clean, with paired intervals over clips).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table, write_table
from emibench.evaluate.metrics import mean_pearson
from emibench.evaluate.run_files import FUSION_COLUMNS
from emibench.report.bootstrap import bootstrap_pearson, percentile_interval, resample_counts
from emibench.report.collect import aligned, run_dirs, run_predictions
from emibench.report.names import ROBUSTNESS_TABLES
from emibench.report.tables import (
    FORMATS,
    BootstrapSettings,
    TableRow,
    _missing,
    to_latex,
    to_markdown,
)
from emibench.robustness.spec import Condition

log = logging.getLogger(__name__)

CLEAN = "clean"
ORACLE_KEY = "oracle"
TABLES = ROBUSTNESS_TABLES


@dataclass(frozen=True)
class Comparison:
    key: str
    label: str
    a: str
    b: str


@dataclass
class CellScore:
    """One (row, condition, split): seed statistics and the bootstrap result (None: no runs)."""

    n_seeds: int
    mean: float
    std: float
    low: float
    high: float
    samples: np.ndarray


def parse_rows(report_cfg: dict) -> list[TableRow]:
    """``report.robustness.rows``, or the rows of the table ``report.per_emotion_rows``."""
    rows = (
        report_cfg.get("robustness", {}).get("rows")
        or (report_cfg["tables"][report_cfg["per_emotion_rows"]]["rows"])
    )
    out = [TableRow(r["key"], r["label"], r["system"], r["variant"]) for r in rows]
    keys = [r.key for r in out]
    if len(set(keys)) != len(keys) or ORACLE_KEY in keys:
        raise ValueError(f"report.robustness.rows: keys must be unique and not {ORACLE_KEY!r}")
    return out


def parse_comparisons(report_cfg: dict, rows: list[TableRow]) -> list[Comparison]:
    keys = {r.key for r in rows}
    out = []
    for i, item in enumerate(report_cfg.get("robustness", {}).get("compare", [])):
        cmp = Comparison(item["key"], item["label"], item["a"], item["b"])
        unknown = [k for k in (cmp.a, cmp.b) if k not in keys]
        if unknown:
            raise KeyError(
                f"report.robustness.compare[{i}] ({cmp.key}): row key(s) {unknown} not in "
                f"report.robustness.rows {sorted(keys)}"
            )
        out.append(cmp)
    return out


class RobustnessBuilder:
    """Scores every (row, condition) once; renders the three tables."""

    def __init__(
        self,
        clean: pd.DataFrame,
        results: pd.DataFrame,
        labels: dict[str, pd.DataFrame],
        conditions: dict[str, Condition],
        report_cfg: dict,
        latents: str | Path | None = None,
    ):
        self.clean = clean
        self.results = results
        self.conditions = conditions
        self.rows = parse_rows(report_cfg)
        self.comparisons = parse_comparisons(report_cfg, self.rows)
        self.fusion = report_cfg.get("robustness", {}).get(
            "fusion", {"system": "dscmn", "variant": "VAT_stage1"}
        )
        self.boot = BootstrapSettings(**report_cfg["bootstrap"])
        self.digits = report_cfg["digits"]
        present = [s for s in ("valid", "test") if s in set(results["split"])]
        self.splits = [s for s in present if len(labels.get(s, ()))]
        if not self.splits:
            raise ValueError("robustness: no labelled split in the robustness results table")
        self.primary = report_cfg["split"] if report_cfg["split"] in self.splits else self.splits[0]
        self.labels = labels
        self.names = [CLEAN, *conditions]
        available = set(zip(clean["system"], clean["variant"]))
        for row in self.rows:
            if (row.system, row.variant) not in available:
                raise KeyError(
                    f"report.robustness row {row.key!r}: no runs of {row.system}/{row.variant} "
                    f"in the results table"
                )
        self.cells: dict[tuple[str, str, str], CellScore | None] = {}
        for split in self.splits:
            for row in self.rows:
                for name in self.names:
                    self.cells[(row.key, name, split)] = self._score(row, name, split)
        self.latents = read_table(latents) if latents else None
        self._oracles: dict[tuple[str, str, str], float] = {}

    # --- scores --------------------------------------------------------------------------------
    def _runs(self, row: TableRow, name: str) -> pd.DataFrame:
        table = self.clean if name == CLEAN else self.results
        sel = (table["system"] == row.system) & (table["variant"] == row.variant)
        if name != CLEAN:
            sel &= table["condition"] == name
        return table[sel]

    def _score(self, row: TableRow, name: str, split: str) -> CellScore | None:
        runs = self._runs(row, name)
        sel = runs[(runs["split"] == split) & (runs["emotion"] == "mean")]
        if sel.empty:
            return None
        per_seed = sel.sort_values("seed")["pearson"].to_numpy(np.float64)
        what = f"{row.system}/{row.variant} {split} ({name})"
        preds = [
            aligned(self.labels[split], frame, what)
            for frame in run_predictions(run_dirs(runs, row.system, row.variant), split)
        ]
        y, p = preds[0][0], np.stack([q for _, q in preds])
        res = bootstrap_pearson(y, p, self.boot.n_resamples, self.boot.seed, self.boot.level)
        if abs(res.mean_point - per_seed.mean()) > 1e-3:
            log.warning(
                "%s: mean Pearson from the predictions (%.4f) differs from metrics.json (%.4f)",
                what,
                res.mean_point,
                per_seed.mean(),
            )
        return CellScore(
            n_seeds=len(per_seed),
            mean=float(per_seed.mean()),
            std=float(per_seed.std(ddof=1)) if len(per_seed) > 1 else np.nan,
            low=res.mean_low,
            high=res.mean_high,
            samples=res.samples,
        )

    def _interval(self, samples: np.ndarray) -> tuple[float, float]:
        return percentile_interval(samples, self.boot.level)

    def drop(self, key: str, name: str, split: str) -> tuple[float, float, float]:
        """Clean minus condition score of a row and its paired interval (NaN where absent)."""
        clean, cond = self.cells[(key, CLEAN, split)], self.cells[(key, name, split)]
        if clean is None or cond is None:
            return np.nan, np.nan, np.nan
        return (clean.mean - cond.mean, *self._interval(clean.samples - cond.samples))

    def oracle(self, name: str, split: str, modalities: str = "VAT") -> float:
        """The synthetic oracle's mean Pearson under a condition (NaN: undefined or no latents)."""
        if self.latents is None:
            return np.nan
        ident = (name, split, modalities)
        if ident not in self._oracles:
            from emibench.robustness.oracle import condition_oracle

            result = condition_oracle(
                self.latents, None if name == CLEAN else self.conditions[name], modalities
            )
            if result is None:
                self._oracles[ident] = np.nan
            else:
                y, p = aligned(self.labels[split], result.predictions, f"oracle under {name}")
                self._oracles[ident] = mean_pearson(y, p)
        return self._oracles[ident]

    # --- frames --------------------------------------------------------------------------------
    def table_frame(self) -> pd.DataFrame:
        """tables/robustness.csv: one row per (row, split, condition), clean first; oracle rows."""
        records = []
        for split in self.splits:
            for row in self.rows:
                modalities = self._modalities(row)
                for name in self.names:
                    cell = self.cells[(row.key, name, split)]
                    drop = self.drop(row.key, name, split)
                    records.append(
                        {
                            "key": row.key,
                            "label": row.label,
                            "system": row.system,
                            "variant": row.variant,
                            "modalities": modalities,
                            "split": split,
                            "condition": name,
                            "n_seeds": 0 if cell is None else cell.n_seeds,
                            "mean": np.nan if cell is None else cell.mean,
                            "std": np.nan if cell is None else cell.std,
                            "ci_low": np.nan if cell is None else cell.low,
                            "ci_high": np.nan if cell is None else cell.high,
                            "drop": drop[0],
                            "drop_ci_low": drop[1],
                            "drop_ci_high": drop[2],
                            "oracle": self.oracle(name, split, modalities),
                        }
                    )
            if self.latents is not None:
                for name in self.names:
                    value = self.oracle(name, split)
                    records.append(
                        {
                            "key": ORACLE_KEY,
                            "label": "Oracle (generator latents, V+A+T)",
                            "system": ORACLE_KEY,
                            "variant": "",
                            "modalities": "VAT",
                            "split": split,
                            "condition": name,
                            "n_seeds": 0,
                            "mean": value,
                            "drop": self.oracle(CLEAN, split) - value,
                            "oracle": value,
                        }
                    )
        return pd.DataFrame(records)

    def _modalities(self, row: TableRow) -> str:
        sel = self._runs(row, CLEAN)
        return str(sel["modalities"].iloc[0]) if len(sel) else ""

    def compare_frame(self) -> pd.DataFrame:
        """tables/robustness_compare.csv: per comparison, split and condition, a minus b and the
        difference of their drops, each with a paired interval."""
        records = []
        for cmp in self.comparisons:
            for split in self.splits:
                for name in self.names:
                    a = self.cells[(cmp.a, name, split)]
                    b = self.cells[(cmp.b, name, split)]
                    rec = {
                        "key": cmp.key,
                        "label": cmp.label,
                        "a": cmp.a,
                        "b": cmp.b,
                        "split": split,
                        "condition": name,
                    }
                    if a is None or b is None:
                        records.append(rec)
                        continue
                    low, high = self._interval(a.samples - b.samples)
                    rec |= {
                        "a_mean": a.mean,
                        "b_mean": b.mean,
                        "diff": a.mean - b.mean,
                        "diff_ci_low": low,
                        "diff_ci_high": high,
                    }
                    a_clean = self.cells[(cmp.a, CLEAN, split)]
                    b_clean = self.cells[(cmp.b, CLEAN, split)]
                    if name != CLEAN and a_clean is not None and b_clean is not None:
                        samples = (a_clean.samples - a.samples) - (b_clean.samples - b.samples)
                        low, high = self._interval(samples)
                        rec |= {
                            "a_drop": a_clean.mean - a.mean,
                            "b_drop": b_clean.mean - b.mean,
                            "drop_diff": (a_clean.mean - a.mean) - (b_clean.mean - b.mean),
                            "drop_diff_ci_low": low,
                            "drop_diff_ci_high": high,
                        }
                    records.append(rec)
        columns = [
            "key",
            "label",
            "a",
            "b",
            "split",
            "condition",
            "a_mean",
            "b_mean",
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "a_drop",
            "b_drop",
            "drop_diff",
            "drop_diff_ci_low",
            "drop_diff_ci_high",
        ]
        return pd.DataFrame(records, columns=columns)

    def weights_frame(self) -> pd.DataFrame:
        """tables/robustness_weights.csv: the fusion run's mean weights per split and condition
        (over clips, seed-averaged per clip) and their shift from clean with a paired interval."""
        system, variant = self.fusion["system"], self.fusion["variant"]
        columns = ["system", "variant", "split", "condition", "n_clips", *FUSION_COLUMNS]
        for w in FUSION_COLUMNS:
            columns += [f"d_{w}", f"d_{w}_ci_low", f"d_{w}_ci_high"]
        records = []
        row = TableRow("fusion", "fusion", system, variant)
        for split in self.splits:
            clean = self._weights(row, CLEAN, split)
            if clean is None:
                log.warning("robustness: no fusion weights of %s/%s on %s", system, variant, split)
                continue
            counts = resample_counts(
                len(clean), self.boot.n_resamples, np.random.default_rng(self.boot.seed)
            ).astype(np.float64)
            for name in self.names:
                weights = clean if name == CLEAN else self._weights(row, name, split)
                if weights is None:
                    continue
                weights = weights.loc[clean.index]
                rec = {
                    "system": system,
                    "variant": variant,
                    "split": split,
                    "condition": name,
                    "n_clips": len(weights),
                }
                shift = (weights - clean).to_numpy(np.float64)  # (N, 3)
                resampled = counts @ shift / len(shift)  # (B, 3)
                for i, w in enumerate(FUSION_COLUMNS):
                    low, high = self._interval(resampled[:, i])
                    rec |= {
                        w: float(weights[w].mean()),
                        f"d_{w}": float(shift[:, i].mean()),
                        f"d_{w}_ci_low": low,
                        f"d_{w}_ci_high": high,
                    }
                records.append(rec)
        return pd.DataFrame(records, columns=columns)

    def _weights(self, row: TableRow, name: str, split: str) -> pd.DataFrame | None:
        """Per-clip fusion weights averaged over seeds (index id), or None without runs/files."""
        runs = self._runs(row, name)
        frames = []
        for run in run_dirs(runs, row.system, row.variant):
            path = run / f"fusion_weights_{split}.csv"
            if not path.exists():
                return None
            frames.append(read_table(path).set_index("id")[list(FUSION_COLUMNS)])
        if not frames:
            return None
        return pd.concat(frames).groupby(level=0).mean()

    # --- rendering -----------------------------------------------------------------------------
    def _n(self, value: float, signed: bool = False) -> str:
        if _missing(value):
            return ""
        text = f"{value:+.{self.digits}f}" if signed else f"{value:.{self.digits}f}"
        return text.replace("-", "−")

    def _range(self, low: float, high: float, signed: bool = False) -> str:
        if _missing(low):
            return ""
        return f"[{self._n(low, signed)}, {self._n(high, signed)}]"

    def display(self, name: str) -> tuple[pd.DataFrame, str]:
        """The rendered table ``name`` on the primary split and its caption."""
        level = round(100 * self.boot.level)
        split = self.primary
        if name == "robustness":
            frame = self.table_frame()
            frame = frame[frame["split"] == split]
            out = []
            for key, group in frame.groupby("key", sort=False):
                rec = {"Method": group["label"].iloc[0], "Modalities": group["modalities"].iloc[0]}
                for _, r in group.iterrows():
                    if key == ORACLE_KEY:
                        rec[r["condition"]] = self._n(r["mean"]) or "undefined"
                    elif r["condition"] == CLEAN:
                        rec[CLEAN] = (
                            f"{self._n(r['mean'])} {self._range(r['ci_low'], r['ci_high'])}"
                        )
                    elif r["n_seeds"] == 0:
                        rec[r["condition"]] = "not evaluated"
                    else:
                        rec[r["condition"]] = (
                            f"{self._n(r['mean'])}; drop {self._n(r['drop'], True)} "
                            f"{self._range(r['drop_ci_low'], r['drop_ci_high'], True)}"
                        )
                out.append(rec)
            caption = (
                f"Robustness on {split}: mean Pearson over the six emotions, mean over seeds, under "
                f"each condition (columns; docs/robustness.md). Clean: score [{level}% bootstrap "
                f"interval over clips]. Condition: score; drop = clean minus condition "
                f"(positive: the condition costs score) [{level}% paired bootstrap interval over "
                "clips]. Oracle: the synthetic "
                "generator's latents under the condition (undefined where an op degrades rather "
                "than removes information)."
            )
            return pd.DataFrame(out), caption
        if name == "robustness_compare":
            frame = self.compare_frame()
            frame = frame[frame["split"] == split]
            out = [
                {
                    "Comparison": r["label"],
                    "Condition": r["condition"],
                    "a": self._n(r["a_mean"]),
                    "b": self._n(r["b_mean"]),
                    "a − b": f"{self._n(r['diff'], True)} "
                    f"{self._range(r['diff_ci_low'], r['diff_ci_high'], True)}",
                    "drop a − drop b": f"{self._n(r['drop_diff'], True)} "
                    f"{self._range(r['drop_diff_ci_low'], r['drop_diff_ci_high'], True)}",
                }
                for _, r in frame.iterrows()
            ]
            caption = (
                f"Pairs of systems condition by condition on {split}: mean Pearson of a and b "
                f"(mean over seeds), a − b and the difference of their drops from clean "
                f"(negative: a loses less), each with a {level}% paired bootstrap interval over "
                "clips."
            )
            return pd.DataFrame(
                out, columns=["Comparison", "Condition", "a", "b", "a − b", "drop a − drop b"]
            ), caption
        if name == "robustness_weights":
            frame = self.weights_frame()
            frame = frame[frame["split"] == split]
            out = []
            for _, r in frame.iterrows():
                rec = {"Condition": r["condition"]}
                for w in FUSION_COLUMNS:
                    text = self._n(r[w])
                    if r["condition"] != CLEAN:
                        text += (
                            f" ({self._n(r[f'd_{w}'], True)} "
                            f"{self._range(r[f'd_{w}_ci_low'], r[f'd_{w}_ci_high'], True)})"
                        )
                    rec[w] = text
                out.append(rec)
            caption = (
                f"Mean fusion weights of {self.fusion['system']} {self.fusion['variant']} on "
                f"{split} (over clips; seeds averaged per clip) per condition, and in brackets the "
                f"shift from clean with a {level}% paired bootstrap interval over clips."
            )
            return pd.DataFrame(out, columns=["Condition", *FUSION_COLUMNS]), caption
        raise KeyError(f"no robustness table {name!r}; tables: {list(TABLES)}")

    def write(self, name: str, path: str | Path) -> None:
        """Write table ``name`` in the format of the path's suffix (.csv, .md, .tex)."""
        fmt = Path(path).suffix.lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"{path}: table format must be one of {FORMATS}")
        if fmt == "csv":
            frames = {
                "robustness": self.table_frame,
                "robustness_compare": self.compare_frame,
                "robustness_weights": self.weights_frame,
            }
            if name not in frames:
                raise KeyError(f"{path}: no robustness table {name!r}; tables: {list(TABLES)}")
            write_table(frames[name](), path)
            return
        display, caption = self.display(name)
        if fmt == "md":
            text = to_markdown(display, caption)
        else:
            text = to_latex(display, caption, f"tab:{name}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)

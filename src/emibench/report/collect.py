"""Gather every run into one long table, and read back the run files that table points to.

The long table (``R/results.tsv``) has one row per run, split and emotion (the six and ``mean``):
``system, variant, features, modalities, seed, split, emotion, pearson``, then ``n_clips`` and
``run_dir`` (the run folder, so tables and figures find its predictions). The robustness table
(``R/robustness/results.tsv``, ``conditions=True``) has a ``condition`` column after ``seed``, one
row per run, condition, split and emotion; its ``run_dir`` is the run's output folder under the
condition.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table
from emibench.emotions import EMOTIONS, format_id

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "system",
    "variant",
    "features",
    "modalities",
    "seed",
    "split",
    "emotion",
    "pearson",
    "n_clips",
    "run_dir",
]
_RUN_KEYS = ("system", "variant", "seed", "features", "modalities", "splits")


def _require(mapping: dict, key: str, where: str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise KeyError(f"{where}: missing key {key!r}")
    return mapping[key]


def read_run_metrics(path: str | Path) -> dict:
    """One run's metrics.json, checked for the keys of the run contract (docs/architecture.md)."""
    path = Path(path)
    try:
        metrics = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"run metrics not found: {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    for key in _RUN_KEYS:
        _require(metrics, key, str(path))
    for split, scores in metrics["splits"].items():
        where = f"{path}: splits.{split}"
        _require(scores, "mean_pearson", where)
        pearson = _require(scores, "pearson", where)
        for emotion in EMOTIONS:
            _require(pearson, emotion, f"{where}.pearson")
    return metrics


ROBUSTNESS_COLUMNS = [*RESULT_COLUMNS[:5], "condition", *RESULT_COLUMNS[5:]]


def collect_runs(metric_paths: list[str | Path], conditions: bool = False) -> pd.DataFrame:
    """Every run's metrics.json as the long results table (RESULT_COLUMNS), sorted; with
    ``conditions``, metrics.json files of runs under robustness conditions (ROBUSTNESS_COLUMNS)."""
    if not metric_paths:
        raise ValueError("collect needs at least one run metrics.json")
    rows = []
    seen: dict[tuple, Path] = {}
    for path in metric_paths:
        path = Path(path)
        m = read_run_metrics(path)
        ident = (m["system"], m["variant"], int(m["seed"]))
        if conditions:
            ident += (_require(m, "condition", str(path)),)
        if ident in seen:
            raise ValueError(f"{path}: run {ident} already collected from {seen[ident]}")
        seen[ident] = path
        for split, scores in m["splits"].items():
            values = {e: scores["pearson"][e] for e in EMOTIONS} | {"mean": scores["mean_pearson"]}
            for emotion, value in values.items():
                rows.append(
                    {
                        "system": m["system"],
                        "variant": m["variant"],
                        "features": m["features"],
                        "modalities": m["modalities"],
                        "seed": int(m["seed"]),
                        "condition": m.get("condition", ""),
                        "split": split,
                        "emotion": emotion,
                        "pearson": float(value),
                        "n_clips": int(scores.get("n_clips", -1)),
                        "run_dir": str(path.parent),
                    }
                )
    columns = ROBUSTNESS_COLUMNS if conditions else RESULT_COLUMNS
    frame = pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)[columns]
    order = {e: i for i, e in enumerate((*EMOTIONS, "mean"))}
    keys = ["system", "variant", "seed", *(["condition"] if conditions else []), "split", "emotion"]
    frame = frame.sort_values(
        keys, key=lambda col: col.map(order) if col.name == "emotion" else col
    )
    return frame.reset_index(drop=True)


def run_devices(metric_paths: list[str | Path]) -> list[str]:
    """The devices the runs trained on, as their metrics.json record them, without repeats (a
    fused run, which trains nothing, records ``none`` and is left out)."""
    devices = {str(read_run_metrics(p).get("device", "not recorded")) for p in metric_paths}
    return sorted(devices - {"none"})


def mean_over_seeds(results: pd.DataFrame, split: str) -> pd.DataFrame:
    """Mean Pearson (``emotion == 'mean'``) of each (system, variant) over its seeds, on ``split``."""
    sel = results[(results["split"] == split) & (results["emotion"] == "mean")]
    return sel.groupby(["system", "variant"], as_index=False)["pearson"].mean()


def summary_metrics(results: pd.DataFrame, table_rows: dict[str, list[dict]]) -> dict:
    """The small JSON for ``dvc metrics show``: per split, each system's and table row's score.

    ``{split: {"systems": {system: {variant: r}}, "tables": {table: {row key: r}}}}``, r the mean
    Pearson averaged over seeds; ``table_rows`` maps a table name to its config rows.
    """
    out: dict = {}
    for split in sorted(results["split"].unique()):
        scores = mean_over_seeds(results, split)
        lookup = {(s, v): round(float(r), 4) for s, v, r in scores.itertuples(index=False)}
        block: dict = {"systems": {}, "tables": {}}
        for (system, variant), value in lookup.items():
            block["systems"].setdefault(system, {})[variant] = value
        for table, rows in table_rows.items():
            block["tables"][table] = {
                row["key"]: lookup[(row["system"], row["variant"])]
                for row in rows
                if (row["system"], row["variant"]) in lookup
            }
        out[split] = block
    return out


def condition_metrics(results: pd.DataFrame) -> dict:
    """The small JSON for ``dvc metrics show`` from the robustness table:
    ``{split: {condition: {system: {variant: r}}}}``, r the mean Pearson averaged over seeds."""
    out: dict = {}
    sel = results[results["emotion"] == "mean"]
    means = sel.groupby(["split", "condition", "system", "variant"])["pearson"].mean()
    for (split, condition, system, variant), value in means.items():
        block = out.setdefault(split, {}).setdefault(condition, {}).setdefault(system, {})
        block[variant] = round(float(value), 4)
    return out


def run_dirs(results: pd.DataFrame, system: str, variant: str) -> list[Path]:
    """The run folders of one (system, variant), by seed."""
    sel = results[(results["system"] == system) & (results["variant"] == variant)]
    runs = sel[["seed", "run_dir"]].drop_duplicates().sort_values("seed")
    return [Path(d) for d in runs["run_dir"]]


def run_predictions(dirs: list[Path], split: str) -> list[pd.DataFrame]:
    """Each run's ``predictions_{split}.csv``: index id (the first run's order), six emotion columns."""
    if not dirs:
        raise ValueError("no run folders to read predictions from")
    frames: list[pd.DataFrame] = []
    for run in dirs:
        path = run / f"predictions_{split}.csv"
        frame = read_table(path)
        missing = [c for c in ("id", *EMOTIONS) if c not in frame.columns]
        if missing:
            raise KeyError(f"{path}: missing columns {missing}")
        frame = frame.set_index("id")[list(EMOTIONS)].astype(np.float64)
        if frame.isna().any().any():
            raise ValueError(f"{path}: predictions hold empty values")
        if frame.index.duplicated().any():
            raise ValueError(f"{path}: repeated clip ids")
        if frames and set(frame.index) != set(frames[0].index):
            raise ValueError(f"{path}: clip ids differ from those of {dirs[0]}")
        frames.append(frame.loc[frames[0].index] if frames else frame)
    return frames


def seed_averaged_predictions(dirs: list[Path], split: str) -> pd.DataFrame:
    """The mean over runs (seeds) of ``predictions_{split}.csv``: index id, six emotion columns."""
    frames = run_predictions(dirs, split)
    return pd.DataFrame(
        np.mean([f.to_numpy() for f in frames], axis=0),
        index=frames[0].index,
        columns=list(EMOTIONS),
    )


def read_labels(
    split: str, manifest: str | Path, test_labels: str | Path | None = None
) -> pd.DataFrame:
    """Labels of a split: index id, six emotion columns; empty when the split's labels are hidden.

    Train and valid labels come from the manifest; test labels from ``test_labels`` (the
    dataset's CSV with ``Filename`` (or ``id``) and the six emotions), read here by the report
    alone. Unlabelled rows are left out with a warning.
    """
    if split == "test":
        if not test_labels:
            return pd.DataFrame(columns=list(EMOTIONS), dtype=float)
        frame = read_table(test_labels)
        key = "Filename" if "Filename" in frame.columns else "id"
        if key not in frame.columns:
            raise KeyError(f"{test_labels}: needs a Filename or id column")
        frame["id"] = frame[key].map(format_id)
        source = str(test_labels)
    else:
        frame = read_table(manifest)
        frame = frame[frame["split"] == split]
        source = f"{manifest} (split {split})"
    missing = [e for e in EMOTIONS if e not in frame.columns]
    if missing:
        raise KeyError(f"{source}: missing label columns {missing}")
    labels = frame.set_index("id")[list(EMOTIONS)].astype(np.float64)
    unlabelled = labels.isna().any(axis=1)
    if unlabelled.all():
        return labels.iloc[0:0]
    if unlabelled.any():
        log.warning("%s: %d clips without labels left out", source, int(unlabelled.sum()))
    return labels[~unlabelled]


def aligned(
    labels: pd.DataFrame, predictions: pd.DataFrame, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) labels and predictions on the labelled clips; every labelled clip must be predicted."""
    missing = labels.index.difference(predictions.index)
    if len(missing):
        raise ValueError(
            f"{what}: {len(missing)} labelled clips without predictions, e.g. {list(missing[:3])}"
        )
    return labels.to_numpy(np.float64), predictions.loc[labels.index].to_numpy(np.float64)

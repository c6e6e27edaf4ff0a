"""Gather every run into one long table, and read back the run files that table points to.

The long table (``R/results.tsv``) has one row per run, split and emotion (the six and ``mean``):
``system, variant, features, modalities, seed, split, emotion, pearson``, then ``n_clips`` and
``run_dir`` (the run folder, so tables and figures find its predictions). The robustness table
(``R/robustness/results.tsv``, ``conditions=True``) has a ``condition`` column after ``seed``, one
row per run, condition, split and emotion; its ``run_dir`` is the run's output folder under the
condition.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.labels import read_split_csv
from emibench.data.tables import read_table
from emibench.emotions import EMOTIONS
from emibench.evaluate.record import read_record

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
ROBUSTNESS_COLUMNS = [*RESULT_COLUMNS[:5], "condition", *RESULT_COLUMNS[5:]]


def collect_runs(metric_paths: list[str | Path], conditions: bool = False) -> pd.DataFrame:
    """Every run's metrics.json as the long results table (RESULT_COLUMNS), sorted; with
    ``conditions``, the records of runs under robustness conditions (ROBUSTNESS_COLUMNS)."""
    if not metric_paths:
        raise ValueError("collect needs at least one run metrics.json")
    rows = []
    for path in metric_paths:
        path = Path(path)
        record = read_record(path)
        if conditions and record.condition is None:
            raise KeyError(f"{path}: missing key 'condition' (not a run under a condition)")
        condition = record.condition.condition if record.condition is not None else ""
        for split, scores in record.splits.items():
            values = scores.pearson | {"mean": scores.mean_pearson}
            for emotion in (*EMOTIONS, "mean"):
                rows.append(
                    {
                        **record.names,
                        "condition": condition,
                        "split": split,
                        "emotion": emotion,
                        "pearson": float(values[emotion]),
                        "n_clips": int(scores.n_clips),
                        "run_dir": str(path.parent),
                    }
                )
    frame = pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    return _sorted(frame if conditions else frame[RESULT_COLUMNS], metric_paths)


def merge_tables(paths: list[str | Path]) -> pd.DataFrame:
    """The robustness conditions' long tables (written by each condition's predict job) as one
    sorted table."""
    if not paths:
        raise ValueError("collect needs at least one condition table")
    frames = []
    for path in paths:
        frame = read_table(path)
        if list(frame.columns) != ROBUSTNESS_COLUMNS:
            raise ValueError(
                f"{path}: columns {list(frame.columns)}, expected {ROBUSTNESS_COLUMNS}"
            )
        frames.append(frame.astype({"seed": int, "pearson": float, "n_clips": int}))
    return _sorted(pd.concat(frames, ignore_index=True), paths)


def _sorted(frame: pd.DataFrame, sources: list) -> pd.DataFrame:
    """Rows in run, condition, split, emotion order; a row given twice is an error."""
    keys = ["system", "variant", "seed", "split", "emotion"]
    if "condition" in frame.columns:
        keys.insert(3, "condition")
    twice = frame[frame.duplicated(keys, keep=False)]
    if len(twice):
        first = twice.iloc[0]
        raise ValueError(
            f"run {tuple(first[k] for k in keys[:-2])} given twice among {len(sources)} inputs "
            f"(e.g. {first['run_dir']})"
        )
    order = {e: i for i, e in enumerate((*EMOTIONS, "mean"))}
    frame = frame.sort_values(
        keys, key=lambda col: col.map(order) if col.name == "emotion" else col
    )
    return frame.reset_index(drop=True)


def run_devices(metric_paths: list[str | Path]) -> list[str]:
    """The devices the runs trained on, as their metrics.json record them, without repeats (a
    fused run, which trains nothing, records ``none`` and is left out)."""
    devices = {read_record(p).device for p in metric_paths}
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
    dataset's CSV with the split CSVs' header, read and checked as one by
    ``emibench.data.labels.read_split_csv``). Unlabelled manifest rows are left out with a warning.
    """
    if split == "test":
        if not test_labels:
            return pd.DataFrame(columns=list(EMOTIONS), dtype=float)
        frame = read_split_csv(test_labels)
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

"""A run's files beside its record (emibench.evaluate.record): per-split predictions, fusion weights,
the training log, timing.json (layout in docs/architecture.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table, write_table
from emibench.emotions import EMOTIONS

FUSION_COLUMNS = ("beta_v", "beta_a", "beta_t")
LOG_COLUMNS = ("epoch", "train_loss", "valid_mean_pearson", "lr", "seconds")
TIMING_KEYS = ("train_seconds", "predict_seconds", "n_predicted_clips")


def predictions_path(run_dir: str | Path, split: str) -> Path:
    return Path(run_dir) / f"predictions_{split}.csv"


def write_predictions(ids: list[str], values: np.ndarray, path: str | Path) -> None:
    """``id`` + six emotions, one row per clip: the model's raw outputs (scores are computed on
    them; only a submission is clipped to [0, 1], ``evaluate.submission``)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(ids), len(EMOTIONS)):
        raise ValueError(f"{path}: {len(ids)} ids but predictions of shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: predictions must be finite")
    frame = pd.DataFrame(values, columns=list(EMOTIONS))
    frame.insert(0, "id", ids)
    write_table(frame, path)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A predictions file indexed by id, checked: six emotion columns, finite values (raw model
    outputs, not clipped)."""
    frame = read_table(path)
    absent = [c for c in ("id", *EMOTIONS) if c not in frame.columns]
    if absent:
        raise KeyError(f"{path}: predictions lack column(s) {absent}")
    values = frame[list(EMOTIONS)].to_numpy(float)
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: predictions must be finite")
    if frame["id"].duplicated().any():
        raise ValueError(f"{path}: duplicate ids")
    return frame.set_index("id")[list(EMOTIONS)]


def write_fusion_weights(ids: list[str], weights: np.ndarray | None, path: str | Path) -> None:
    """``id, beta_v, beta_a, beta_t``: each clip's fusion weights averaged over its time steps;
    the header alone for a model without fusion weights (``weights`` None)."""
    values = np.zeros((0, 3)) if weights is None else np.asarray(weights, dtype=np.float64)
    frame = pd.DataFrame(values, columns=list(FUSION_COLUMNS))
    frame.insert(0, "id", ids)
    write_table(frame, path)


def write_timing(
    run_dir: str | Path, train_seconds: float, predict_seconds: float, n_predicted_clips: int
) -> Path:
    """``timing.json`` beside metrics.json: wall seconds of fitting, of predicting every clip of
    every split, and how many clips those predictions were. Timings live here, not in
    metrics.json, so two identical runs write byte-identical metrics.json."""
    path = Path(run_dir) / "timing.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    timing = {
        "train_seconds": round(float(train_seconds), 3),
        "predict_seconds": round(float(predict_seconds), 4),
        "n_predicted_clips": int(n_predicted_clips),
    }
    path.write_text(json.dumps(timing, indent=2) + "\n")
    return path


def read_timing(run_dir: str | Path) -> dict:
    """A run's timing.json, checked: TIMING_KEYS, non-negative numbers, at least one clip."""
    path = Path(run_dir) / "timing.json"
    if not path.exists():
        raise FileNotFoundError(f"run has no timing.json: {path}")
    try:
        timing = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(timing, dict):
        raise TypeError(f"{path}: expected an object with keys {list(TIMING_KEYS)}")
    for key in TIMING_KEYS:
        value = timing.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{path}: {key!r} must be a number >= 0, got {value!r}")
    if timing["n_predicted_clips"] < 1:
        raise ValueError(f"{path}: 'n_predicted_clips' must be >= 1")
    return timing


def write_train_log(rows: list[dict], path: str | Path) -> None:
    """``train_log.tsv``: one row per epoch (LOG_COLUMNS); header only for a run without training."""
    write_table(pd.DataFrame(rows, columns=list(LOG_COLUMNS)), path)

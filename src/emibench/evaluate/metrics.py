"""The challenge metric: Pearson's r per emotion over a whole split, and their mean."""

from __future__ import annotations

import numpy as np

from emibench.emotions import EMOTIONS


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Pearson's r of two 1-D arrays; 0.0 where either side is constant (r undefined).

    Non-finite values are an error, never a score: a run whose model output NaN or inf fails.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"pearson needs two 1-D arrays of one shape, got {y_true.shape} and {y_pred.shape}"
        )
    for name, values in (("labels", y_true), ("predictions", y_pred)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"pearson: {int(bad.sum())} non-finite {name} (first at row {int(np.argmax(bad))})"
            )
    dt = y_true - y_true.mean()
    dp = y_pred - y_pred.mean()
    denom = np.sqrt((dt * dt).sum() * (dp * dp).sum())
    if denom == 0.0:
        return 0.0
    return float((dt * dp).sum() / denom)


def pearson_per_emotion(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``{emotion: r}`` for (N, 6) arrays in EMOTIONS order."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.shape[1:] != (len(EMOTIONS),):
        raise ValueError(
            f"expected two (N, {len(EMOTIONS)}) arrays, got {y_true.shape} and {y_pred.shape}"
        )
    return {e: pearson(y_true[:, i], y_pred[:, i]) for i, e in enumerate(EMOTIONS)}


def mean_pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The challenge score: the mean over the six emotions of Pearson's r."""
    return float(np.mean(list(pearson_per_emotion(y_true, y_pred).values())))

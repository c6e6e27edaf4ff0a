"""Percentile bootstrap over clips of the challenge score, vectorised with numpy.

A resample draws N clips with replacement; its score is Pearson's r per emotion recomputed on
the drawn clips (for each run, then averaged over runs), and the mean over emotions. Every
resample is a row of clip counts ``W`` (B, N), so the sums Pearson needs (of y, p, y^2, p^2, yp)
for all B resamples and all runs are one matrix product ``W @ [y, p, y*y, p*p, y*p]``
(B, 5*S*K): no Python loop over resamples or runs.

Scores of one split drawn with one seed share their resamples (the same N clips in the labels'
order, the same generator), so the difference of two systems' ``samples`` is the paired bootstrap
of their difference: ``paired_difference`` gives its interval and p-value, ``holm`` corrects a
family of such p-values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# rows of W per matrix product: bounds the (chunk, N) float64 block to about 64 MB
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate and percentile interval, per column and for the mean over columns.

    ``point``, ``low``, ``high``: (K,) Pearson per column; ``mean_*``: the mean over the K columns
    (the challenge score); ``samples``: (B,) resampled mean scores.
    """

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    mean_point: float
    mean_low: float
    mean_high: float
    samples: np.ndarray


def resample_counts(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(B, N) int64: how often each of N clips is drawn in each of B resamples (rows sum to N)."""
    idx = rng.integers(0, n, size=(n_resamples, n))
    offsets = (np.arange(n_resamples) * n)[:, None]
    return np.bincount((idx + offsets).ravel(), minlength=n_resamples * n).reshape(n_resamples, n)


def _pearson_from_sums(sums: np.ndarray, n: float, k: int, var_floor: np.ndarray) -> np.ndarray:
    """Pearson per column from (B, 5K) sums of [y, p, yy, pp, yp]; 0 where a side is constant.

    ``var_floor`` (2, K): variances at or below it count as zero (rounding residue); a column
    that is constant on all clips has an infinite floor.
    """
    sy, sp, syy, spp, syp = (sums[:, i * k : (i + 1) * k] for i in range(5))
    cov = syp / n - sy * sp / n**2
    var_y = syy / n - (sy / n) ** 2
    var_p = spp / n - (sp / n) ** 2
    ok = (var_y > var_floor[0]) & (var_p > var_floor[1])
    denom = np.sqrt(np.where(ok, var_y * var_p, 1.0))
    return np.where(ok, cov / denom, 0.0)


def bootstrap_pearson(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """Bootstrap Pearson's r of (N, K) labels and (N, K) or (S, N, K) predictions over the N clips.

    With S runs (seeds) the score of a resample is the mean over runs of each run's Pearson on
    the same drawn clips, so the interval belongs to the mean-over-seeds score the tables show.
    The point estimate uses all clips (equal to ``emibench.evaluate.metrics``, averaged over
    runs); the interval is the ``level`` percentile interval of ``n_resamples`` resamples drawn
    with ``np.random.default_rng(seed)``: one seed gives the same resamples for every system.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if y.ndim != 2 or p.shape[1:] != y.shape or y.shape[0] < 2:
        raise ValueError(
            f"bootstrap needs (N>=2, K) labels and (S, N, K) predictions, got {y.shape}, {p.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError("bootstrap input holds NaN or inf")
    if not 0.0 < level < 1.0:
        raise ValueError(f"interval level must lie in (0, 1), got {level}")
    n_runs, n, k = p.shape
    # one (N, K) block per run and side: Y repeated for every run, so column j pairs Y[:, j] with P[:, j]
    constant = np.stack([np.tile(np.ptp(y, axis=0) == 0, n_runs), (np.ptp(p, axis=1) == 0).ravel()])
    y = np.tile(
        y - y.mean(axis=0), (1, n_runs)
    )  # (N, S*K); centring keeps the moment sums accurate
    p = (p - p.mean(axis=1, keepdims=True)).transpose(1, 0, 2).reshape(n, n_runs * k)
    columns = np.concatenate([y, p, y * y, p * p, y * p], axis=1)  # (N, 5*S*K)
    var_floor = np.where(constant, np.inf, 1e-12 * np.stack([(y * y).mean(0), (p * p).mean(0)]))
    width = n_runs * k

    def per_column(sums: np.ndarray) -> np.ndarray:  # (B, 5*S*K) -> (B, K), mean over runs
        r = _pearson_from_sums(sums, n, width, var_floor)
        return r.reshape(len(r), n_runs, k).mean(axis=1)

    point = per_column(columns.sum(axis=0, keepdims=True))[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_BYTES // (8 * n)))
    resampled = np.empty((n_resamples, k))
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        counts = resample_counts(n, stop - start, rng).astype(np.float64)
        resampled[start:stop] = per_column(counts @ columns)
    samples = resampled.mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail], axis=0)
    mean_low, mean_high = np.quantile(samples, [tail, 1.0 - tail])
    return BootstrapResult(
        point=point,
        low=low,
        high=high,
        mean_point=float(point.mean()),
        mean_low=float(mean_low),
        mean_high=float(mean_high),
        samples=samples,
    )


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The ``level`` percentile interval of (B,) bootstrap samples."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(np.asarray(samples, dtype=np.float64), [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedDifference:
    """a minus b on the same clips: ``diff`` (the point difference), its percentile interval, the
    bootstrap standard error ``se`` and the two-sided p-value of no difference."""

    diff: float
    low: float
    high: float
    se: float
    p: float


def paired_difference(
    diff: float, samples_a: np.ndarray, samples_b: np.ndarray, level: float
) -> PairedDifference:
    """Interval and p-value of ``diff`` = score a - score b from their (B,) resampled scores,
    drawn on the same resamples of the clips (``bootstrap_pearson`` with one seed).

    The p-value is 2 * Phi(-|diff| / se), se the sd of the B resampled differences: a bootstrap
    p-value by counting resamples beyond zero cannot fall below about 2/B, too coarse for a
    multiple-comparison correction over many pairs.
    """
    a, b = np.asarray(samples_a, np.float64), np.asarray(samples_b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired samples must be two (B>=2,) arrays, got {a.shape}, {b.shape}")
    resampled = a - b
    se = float(resampled.std(ddof=1))
    if se > 0:
        p = math.erfc(abs(diff) / se / math.sqrt(2.0))
    else:
        p = 1.0 if diff == 0 else 0.0
    return PairedDifference(float(diff), *percentile_interval(resampled, level), se, p)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values of one family (same order as given): the i-th smallest
    p becomes max over j <= i of min(1, (m - j + 1) * p_(j)). Rejecting where the adjusted p is
    below alpha controls the family-wise error rate at alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise ValueError(f"Holm needs p-values in [0, 1], got {p}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out

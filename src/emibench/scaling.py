"""The scale a per-dimension standardisation divides by, finite for any input.

A dimension whose train spread is tiny (a frozen encoder's near-constant output, any dimension
when the train split holds a handful of clips, or a whole modality that is constant on train,
such as an ASR that answers every clip with the same phrase) would turn small deviations on
other clips into huge values, beyond float16 once projected. Each scale is floored twice: at
``FLOOR`` times the median scale of the dimensions (relative to the others' spread), and at
``FLOOR`` times the features' root mean square on train (absolute, so a modality whose every
dimension is constant is floored by its own magnitude, not by rounding noise). Features that are
all zero get scale 1.
"""

from __future__ import annotations

import numpy as np

FLOOR = 1e-2
# a modality whose median spread is below this share of its magnitude is reported as constant
NEAR_CONSTANT = 1e-3


def safe_scale(std: np.ndarray, rms: float = 0.0) -> np.ndarray:
    """(D,) standard deviations and the features' root mean square -> (D,) float32 scales,
    floored at FLOOR x their median and at FLOOR x ``rms``; 1 where no floor is positive."""
    std = np.asarray(std, dtype=np.float64)
    typical = float(np.median(std)) if std.size else 0.0
    if typical <= 0.0:
        typical = float(std.max(initial=0.0))
    floor = FLOOR * max(typical, float(rms))
    if floor <= 0.0:
        return np.ones_like(std, dtype=np.float32)
    return np.maximum(std, floor).astype(np.float32)


def root_mean_square(mean: np.ndarray, std: np.ndarray) -> float:
    """The root mean square of every value, from per-dimension means and spreads."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    return float(np.sqrt(np.mean(mean * mean + std * std))) if mean.size else 0.0


def near_constant(std: np.ndarray, rms: float) -> bool:
    """True when the features barely vary: their median spread is below NEAR_CONSTANT x their
    magnitude (or they are all zero)."""
    std = np.asarray(std, dtype=np.float64)
    return not std.size or float(np.median(std)) <= NEAR_CONSTANT * float(rms)

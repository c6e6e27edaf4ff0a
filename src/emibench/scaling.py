"""The scale a per-dimension standardisation divides by, safe for near-constant dimensions.

A dimension whose train spread is tiny next to the others (a frozen encoder's near-constant
output, or any dimension when the train split holds a handful of clips) would turn small
deviations on other clips into huge values, beyond float16 once projected. Its scale is floored
at ``FLOOR`` times the median scale of the dimensions; a spread of exactly zero gives 1.
"""

from __future__ import annotations

import numpy as np

FLOOR = 1e-2


def safe_scale(std: np.ndarray) -> np.ndarray:
    """(D,) standard deviations -> (D,) float32 scales: floored at FLOOR x their median, 1 where
    every dimension is constant."""
    std = np.asarray(std, dtype=np.float64)
    typical = float(np.median(std)) if std.size else 0.0
    if typical <= 0.0:
        typical = float(std.max(initial=0.0))
    if typical <= 0.0:
        return np.ones_like(std, dtype=np.float32)
    return np.maximum(std, FLOOR * typical).astype(np.float32)

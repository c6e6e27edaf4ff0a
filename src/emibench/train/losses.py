"""Training losses on a batch's (B, 6) predictions and targets.

Every loss is a mean over the six emotions; the correlation losses compute each emotion's
statistics over the batch (population moments), the way the challenge metric computes Pearson's r
over a whole split:

- ``mse``: mean squared error (the paper's, and the default)
- ``pearson``: 1 - r
- ``ccc``: 1 - CCC, Lin's concordance ``2 cov / (var_p + var_y + (mean_p - mean_y)^2)``
- ``mse+pearson``: MSE + ``weight`` * (1 - r)

A batch where a column is constant gives r = 0 there (``EPS`` keeps the division finite), so a
batch of one clip contributes no correlation gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

LOSSES = ("mse", "pearson", "ccc", "mse+pearson")
EPS = 1e-8

Loss = Callable[[Tensor, Tensor], Tensor]


def _check(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(
            f"model output 'pred' of shape {tuple(pred.shape)}, targets {tuple(target.shape)}: "
            "a model must return {'pred': (B, 6)} (docs/own-system.md)"
        )


def mse(pred: Tensor, target: Tensor) -> Tensor:
    _check(pred, target)
    return nn.functional.mse_loss(pred, target)


def pearson_per_column(pred: Tensor, target: Tensor) -> Tensor:
    """(6,) Pearson's r of each column over the batch; 0 where a column is constant."""
    _check(pred, target)
    dp = pred - pred.mean(0)
    dt = target - target.mean(0)
    cov = (dp * dt).mean(0)
    return cov / torch.sqrt((dp * dp).mean(0) * (dt * dt).mean(0) + EPS)


def ccc_per_column(pred: Tensor, target: Tensor) -> Tensor:
    """(6,) concordance correlation coefficient of each column over the batch."""
    _check(pred, target)
    mp, mt = pred.mean(0), target.mean(0)
    dp, dt = pred - mp, target - mt
    cov = (dp * dt).mean(0)
    return 2 * cov / ((dp * dp).mean(0) + (dt * dt).mean(0) + (mp - mt) ** 2 + EPS)


def pearson_loss(pred: Tensor, target: Tensor) -> Tensor:
    return 1 - pearson_per_column(pred, target).mean()


def ccc_loss(pred: Tensor, target: Tensor) -> Tensor:
    return 1 - ccc_per_column(pred, target).mean()


def make_loss(name: str, weight: float = 1.0) -> Loss:
    """The loss ``name`` (one of LOSSES); ``weight`` scales the Pearson term of ``mse+pearson``."""
    if name == "mse":
        return mse
    if name == "pearson":
        return pearson_loss
    if name == "ccc":
        return ccc_loss
    if name == "mse+pearson":
        return lambda pred, target: mse(pred, target) + weight * pearson_loss(pred, target)
    raise ValueError(f"loss {name!r}: expected one of {LOSSES}")

"""Exponential moving average of model parameters (DSCMN eq. 10), used for evaluation."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """theta_EMA(k) = gamma_k theta_EMA(k-1) + (1 - gamma_k) theta(k), after every optimizer step k.

    gamma_k = decay, or with ``warmup`` min(decay, k / (k + 9)) so that a short run does not leave
    the average at the initial weights (the usual TensorFlow/timm correction; docs/models.md).
    Buffers are copied. ``module`` is the averaged model, always in eval mode.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """gamma for the next update."""
        k = self.updates + 1
        return min(self.decay, k / (k + 9)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        gamma = self.current_decay()
        averages, params = list(self.module.parameters()), list(model.parameters())
        if len(averages) != len(params):
            raise ValueError(f"ema: the model has {len(params)} parameters, not {len(averages)}")
        if averages:
            torch._foreach_mul_(averages, gamma)
            torch._foreach_add_(averages, params, alpha=1.0 - gamma)
        for avg, b in zip(self.module.buffers(), model.buffers(), strict=True):
            avg.copy_(b)
        self.updates += 1

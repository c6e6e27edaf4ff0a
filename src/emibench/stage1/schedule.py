"""SGDR: cosine annealing with warm restarts (paper section 4.3, its eq. 9 of the schedule).

``eta_t = eta_min + 1/2 (eta_max - eta_min) (1 + cos(pi T_cur / T_i))``, with ``T_cur`` the
iterations since the last restart and ``T_i`` the current cycle length in iterations (the paper:
10 epochs; ``cycle_mult`` > 1 lengthens each next cycle). A restart only resets the learning rate;
the optimiser keeps its state (momentum, Adam moments).
"""

from __future__ import annotations

import math

import torch


def sgdr_position(step: int, cycle_steps: int, cycle_mult: float = 1.0) -> tuple[float, float]:
    """``(T_cur, T_i)`` at iteration ``step`` (0-based) for a first cycle of ``cycle_steps``."""
    if cycle_steps < 1:
        raise ValueError(f"cycle_steps must be at least 1, got {cycle_steps}")
    t_cur, t_i = float(step), float(cycle_steps)
    while t_cur >= t_i:
        t_cur -= t_i
        t_i = max(1.0, round(t_i * cycle_mult))
    return t_cur, t_i


def sgdr_lr(
    step: int, cycle_steps: int, lr_max: float, lr_min: float, cycle_mult: float = 1.0
) -> float:
    """Learning rate at iteration ``step`` (0-based) for a first cycle of ``cycle_steps`` iterations."""
    t_cur, t_i = sgdr_position(step, cycle_steps, cycle_mult)
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * t_cur / t_i))


class SGDR:
    """Sets each parameter group's learning rate from ``sgdr_lr`` at each ``step()``.

    A group's peak is its ``peak_lr`` entry when it has one (Stage I heads), else ``lr_max``; its
    floor is the peak times ``lr_min / lr_max``, so every group follows the same cycle shape.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        cycle_steps: int,
        lr_max: float,
        lr_min: float,
        cycle_mult: float = 1.0,
    ):
        self.optimizer = optimizer
        self.cycle_steps, self.lr_max, self.lr_min, self.cycle_mult = (
            cycle_steps,
            lr_max,
            lr_min,
            cycle_mult,
        )
        self.step_count = 0
        self._apply()

    def _apply(self) -> float:
        shape = sgdr_lr(
            self.step_count, self.cycle_steps, 1.0, self.lr_min / self.lr_max, self.cycle_mult
        )
        for group in self.optimizer.param_groups:
            group["lr"] = group.get("peak_lr", self.lr_max) * shape
        return self.lr

    @property
    def lr(self) -> float:
        """The first group's learning rate."""
        return self.optimizer.param_groups[0]["lr"]

    @property
    def at_cycle_end(self) -> bool:
        """Whether the iterations so far end a cycle (the next one restarts at ``lr_max``)."""
        t_cur, _ = sgdr_position(self.step_count, self.cycle_steps, self.cycle_mult)
        return self.step_count > 0 and t_cur == 0

    def step(self) -> float:
        """Advance one iteration; returns the learning rate of the next one."""
        self.step_count += 1
        return self._apply()

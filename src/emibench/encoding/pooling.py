"""Time bases: pooling a sequence onto the visual steps.

A visual step ``t`` with timestamp ``s_t`` owns the interval between the midpoints to its
neighbours: ``[(s_{t-1} + s_t) / 2, (s_t + s_{t+1}) / 2)``, the first one open to the left and the
last one to the right. A source frame (an audio frame, an organiser feature row) belongs to the
step whose interval holds its centre time; a step's value is the mean of its frames, or, when no
frame falls inside (audio shorter than video, a source rate below the visual rate), the frame
nearest in time.
"""

from __future__ import annotations

import numpy as np
import torch


def uniform_steps(duration_s: float, rate_hz: float) -> np.ndarray:
    """Timestamps ``k / rate`` of a uniform visual time base covering ``duration_s`` (at least one)."""
    n = max(1, round(float(duration_s) * float(rate_hz)))
    return (np.arange(n) / float(rate_hz)).astype(np.float32)


def uniform_times(n: int, rate_hz: float) -> np.ndarray:
    """Centre times ``(i + 1/2) / rate`` of ``n`` frames at ``rate_hz``."""
    return ((np.arange(n) + 0.5) / float(rate_hz)).astype(np.float64)


def assign_to_steps(times: np.ndarray, step_times: np.ndarray) -> np.ndarray:
    """Index of the visual step whose interval holds each time: (N,) -> (N,) ints in [0, T)."""
    step_times = np.asarray(step_times, dtype=np.float64)
    bounds = (step_times[1:] + step_times[:-1]) / 2.0
    return np.searchsorted(bounds, np.asarray(times, dtype=np.float64), side="right")


def pool_to_steps(values: torch.Tensor, times: np.ndarray, step_times: np.ndarray) -> torch.Tensor:
    """Mean of the (N, D) ``values`` (frame centres ``times`` (N,), s) per visual step -> (T, D).

    Steps that no frame falls into take the frame nearest in time. ``N`` must be at least 1.
    """
    n, t_steps = values.shape[0], len(step_times)
    if n == 0 or t_steps == 0:
        raise ValueError(
            f"pool_to_steps needs at least one frame and one step, got {n} and {t_steps}"
        )
    index = torch.as_tensor(assign_to_steps(times, step_times), device=values.device)
    sums = torch.zeros(t_steps, values.shape[1], dtype=torch.float32, device=values.device)
    sums.index_add_(0, index, values.float())
    counts = torch.bincount(index, minlength=t_steps)
    empty = (counts == 0).nonzero().flatten()
    if len(empty):
        nearest = np.abs(
            np.asarray(times)[None, :] - np.asarray(step_times)[empty.cpu().numpy(), None]
        ).argmin(1)
        sums[empty] = values[torch.as_tensor(nearest, device=values.device)].float()
        counts[empty] = 1
    return sums / counts.unsqueeze(1).to(sums.dtype)

"""Pooling onto the visual time base and segment-wise average pooling (eq. 5)."""

import numpy as np
import pytest
import torch

from emibench.encoding.pooling import (
    assign_to_steps,
    pool_to_steps,
    uniform_steps,
    uniform_times,
)


def test_frames_go_to_the_step_whose_midpoint_interval_holds_them():
    steps = np.array([0.0, 0.2, 0.4])
    times = np.array([0.05, 0.09, 0.11, 0.29, 0.31, 0.9])
    assert assign_to_steps(times, steps).tolist() == [0, 0, 1, 1, 2, 2]


def test_pool_to_steps_means_and_nearest_fill():
    values = torch.tensor([[1.0], [3.0], [10.0], [20.0]])
    times = np.array([0.01, 0.03, 0.21, 0.23])
    steps = np.array([0.0, 0.2, 0.4, 0.6])  # 0.4 and 0.6 get no frame: nearest is the last one
    pooled = pool_to_steps(values, times, steps)
    assert pooled.squeeze(1).tolist() == [2.0, 15.0, 20.0, 20.0]


def test_fifty_hz_audio_on_five_hz_frames_averages_ten_frames():
    values = torch.arange(100, dtype=torch.float32).unsqueeze(1)
    pooled = pool_to_steps(values, uniform_times(100, 50.0), uniform_steps(2.0, 5.0))
    assert pooled.shape == (10, 1)
    # step 1 (t = 0.2 s) owns [0.1, 0.3): frames 5..14
    assert pooled[1, 0] == pytest.approx(np.mean(np.arange(5, 15)))

"""Standardisation scales stay sane for near-constant dimensions (few train clips, frozen
encoders), where dividing by a tiny spread would blow values past float16."""

import numpy as np
import torch

from emibench.scaling import FLOOR, safe_scale
from emibench.stage1.model import ProjectionHead


def test_tiny_spreads_are_floored_at_a_share_of_the_median():
    std = np.array([1.0, 2.0, 1e-9, 0.0, 3.0])
    scale = safe_scale(std)
    np.testing.assert_allclose(scale, [1.0, 2.0, FLOOR, FLOOR, 3.0], rtol=1e-6)
    assert (safe_scale(np.zeros(3)) == 1.0).all()


def test_a_head_fitted_on_four_clips_keeps_other_clips_in_float16_range():
    torch.manual_seed(0)
    train = torch.randn(4, 768)
    train[:, :10] = 0.5 + 1e-7 * torch.randn(4, 10)  # near-constant on the train clips
    head = ProjectionHead(768, 256)
    head.fit_standardization(train)
    other = torch.randn(8, 768)  # those dimensions vary on other clips
    out = head(other)
    assert out.abs().max() < float(np.finfo(np.float16).max)

"""Standardisation scales stay sane for near-constant dimensions (few train clips, frozen
encoders), where dividing by a tiny spread would blow values past float16."""

import logging

import numpy as np
import torch

from emibench.scaling import FLOOR, safe_scale
from emibench.stage1.model import ProjectionHead


def test_tiny_spreads_are_floored_at_a_share_of_the_median():
    std = np.array([1.0, 2.0, 1e-9, 0.0, 3.0])
    scale = safe_scale(std)
    np.testing.assert_allclose(scale, [1.0, 2.0, FLOOR, FLOOR, 3.0], rtol=1e-6)
    assert (safe_scale(np.zeros(3)) == 1.0).all()


def test_a_modality_constant_on_train_is_floored_by_its_own_magnitude():
    std = np.full(4, 3e-8)  # rounding noise: every train clip had the same value
    np.testing.assert_allclose(safe_scale(std, rms=2.0), FLOOR * 2.0, rtol=1e-6)


def test_one_transcript_for_every_train_clip_keeps_text_features_finite_and_is_logged(caplog):
    """The failure of issue 25: an ASR that wrote the same words for every train clip made the
    text head's input identical on train, and the next clip's features reached 4e+08."""
    torch.manual_seed(0)
    cls = torch.randn(768)
    train = cls.expand(11, 768) + 1e-7 * torch.randn(11, 768)
    head = ProjectionHead(768, 256)
    with caplog.at_level(logging.WARNING):
        head.fit_standardization(train, "V transcripts (text CLS)")
    assert "V transcripts (text CLS)" in caplog.text and "among 11 train samples" in caplog.text
    other = cls + torch.randn(8, 768)
    out = head(other)
    assert out.abs().max() < float(np.finfo(np.float16).max)
    exact = ProjectionHead(768, 256)
    with caplog.at_level(logging.WARNING):
        exact.fit_standardization(cls.expand(11, 768).clone(), "text")
    assert "text: 1 distinct among 11 train samples" in caplog.text
    assert torch.isfinite(exact(other)).all()


def test_a_head_fitted_on_four_clips_keeps_other_clips_in_float16_range():
    torch.manual_seed(0)
    train = torch.randn(4, 768)
    train[:, :10] = 0.5 + 1e-7 * torch.randn(4, 10)  # near-constant on the train clips
    head = ProjectionHead(768, 256)
    head.fit_standardization(train)
    other = torch.randn(8, 768)  # those dimensions vary on other clips
    out = head(other)
    assert out.abs().max() < float(np.finfo(np.float16).max)

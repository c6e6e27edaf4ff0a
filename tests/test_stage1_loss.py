"""Symmetric InfoNCE (eq. 1) against a hand computation; retrieval recall and its chance level."""

import math

import numpy as np
import pytest
import torch

from emibench.stage1.loss import info_nce
from emibench.stage1.retrieval import chance_recall_at_k, recall_at_k, text_groups


def test_info_nce_matches_a_hand_computed_2x2_example():
    media = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # normalised: e1, e2
    text = torch.tensor([[3.0, 0.0], [1.0, 1.0]])  # normalised: e1, (e1 + e2) / sqrt 2
    tau = 0.5
    r = 1 / math.sqrt(2)
    # similarities / tau: [[1, r], [0, r]] / tau
    s = [[1 / tau, r / tau], [0.0, r / tau]]
    m2t = -(s[0][0] - math.log(math.exp(s[0][0]) + math.exp(s[0][1]))) - (
        s[1][1] - math.log(math.exp(s[1][0]) + math.exp(s[1][1]))
    )
    t2m = -(s[0][0] - math.log(math.exp(s[0][0]) + math.exp(s[1][0]))) - (
        s[1][1] - math.log(math.exp(s[0][1]) + math.exp(s[1][1]))
    )
    expected = 0.5 * (m2t / 2 + t2m / 2)
    got = info_nce(media, text, torch.tensor(math.log(1 / tau)))
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_info_nce_is_low_for_aligned_and_high_for_shuffled_pairs():
    x = torch.nn.functional.normalize(
        torch.randn(8, 16, generator=torch.Generator().manual_seed(0)), dim=1
    )
    scale = torch.tensor(math.log(100.0))
    assert float(info_nce(x, x, scale)) < 0.1
    assert float(info_nce(x, x.roll(1, 0), scale)) > 1.0


def test_recall_counts_identical_texts_as_hits_and_chance_follows_the_same_rule():
    groups = text_groups(["Hello  there", "hello there", "bye", "other"])
    assert groups.tolist() == [0, 0, 1, 2]
    sim = torch.tensor(
        [[0.1, 0.9, 0.0, 0.0], [0.0, 0.1, 0.9, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.5]]
    )
    assert recall_at_k(sim, groups, 1) == pytest.approx(2 / 4)  # rows 0 (same text) and 2
    assert recall_at_k(sim, groups, 2) == pytest.approx(4 / 4)
    unique = np.arange(10)
    assert chance_recall_at_k(unique, 1) == pytest.approx(0.1)
    assert chance_recall_at_k(unique, 5) == pytest.approx(0.5)
    # a query whose text has 2 copies among 4: 1 - C(2,1)/C(4,1) = 0.5
    assert chance_recall_at_k(np.array([0, 0, 1, 2]), 1) == pytest.approx(
        (0.5 + 0.5 + 0.25 + 0.25) / 4
    )

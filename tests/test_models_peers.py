"""The peers build from the shipped configs and train a step for every modality subset, clips
lacking modalities included; their clip vectors match numpy; the late-fusion regressor honours
availability and modality dropout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from emibench.models.clip_vectors import ClipVectors, masked_mean_std
from emibench.models.inputs import random_batch
from emibench.models.late_fusion import LateFusionRegressor, MemberBatch
from emibench.models.registry import build_model

REPO = Path(__file__).resolve().parents[1]
DIMS = {"V": 12, "A": 10, "T": 8}
SUBSETS = ["V", "A", "T", "VA", "VT", "AT", "VAT"]
# clip 0 has everything, 1 lacks audio, 2 lacks video and text, 3 lacks everything
LENGTHS = {"V": [9, 4, 0, 0], "A": [9, 0, 3, 0], "T": [5, 2, 0, 0]}
PEERS = ("concat_mlp", "pooled_mlp")


def _config_model(config: str, system: str) -> dict:
    return yaml.safe_load((REPO / "config" / config).read_text())["train"]["systems"][system][
        "model"
    ]


@pytest.mark.parametrize("config", ["config.yaml", "vidmimic2.yaml"])
@pytest.mark.parametrize("system", PEERS)
@pytest.mark.parametrize("modalities", SUBSETS)
def test_peer_from_config_every_subset(config, system, modalities):
    torch.manual_seed(0)
    model = build_model(_config_model(config, system), DIMS, modalities).train()
    batch = random_batch({m: LENGTHS[m] for m in modalities}, DIMS)
    pred = model(batch)["pred"]
    assert pred.shape == (4, 6) and torch.isfinite(pred).all()
    torch.nn.functional.mse_loss(pred, batch.labels).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("system", PEERS)
@pytest.mark.parametrize("text_input", ["cls", "tokens"])
def test_padding_does_not_change_predictions(system, text_input):
    torch.manual_seed(0)
    model = build_model({"name": system, "hidden": 8, "text_input": text_input}, DIMS, "VAT")
    model.eval()
    full = random_batch({m: [4, 11] for m in "VAT"}, DIMS, seed=3)
    alone = random_batch({m: [4] for m in "VAT"}, DIMS, seed=3)
    for m in "VAT":
        one = alone.get(m)
        one.data[0] = full.get(m).data[0, : one.data.shape[1]]
    alone.text_cls[0] = full.text_cls[0]
    with torch.no_grad():
        torch.testing.assert_close(model(full)["pred"][0], model(alone)["pred"][0])


def test_clip_vectors_match_numpy():
    batch = random_batch({m: LENGTHS[m] for m in "VAT"}, DIMS, seed=1)
    vectors = ClipVectors(DIMS, ("V", "A", "T"), stats="mean_std")(batch)
    assert vectors.shape == (4, 2 * 12 + 1 + 2 * 10 + 1 + 8 + 1)
    v = batch.visual.data[0, :9].numpy()
    np.testing.assert_allclose(vectors[0, :12], v.mean(0), atol=1e-6)
    np.testing.assert_allclose(vectors[0, 12:24], v.std(0), atol=1e-5)
    assert vectors[0, 24] == 1  # V present
    # clip 1 lacks audio: zeros and flag 0; clip 3 lacks everything: all zero
    assert (vectors[1, 25:46] == 0).all()
    assert (vectors[3] == 0).all()
    np.testing.assert_allclose(vectors[0, 46:54], batch.text_cls[0].numpy())
    _, std = masked_mean_std(torch.ones(1, 3, 2), torch.tensor([[True, False, False]]))
    assert (std < 1e-5).all()


def _members_batch(present: list[list[bool]]) -> MemberBatch:
    n = len(present)
    g = torch.Generator().manual_seed(0)
    return MemberBatch(
        [f"{k:05d}" for k in range(n)],
        torch.rand(n, 3, 6, generator=g),
        torch.tensor(present),
        torch.rand(n, 6, generator=g),
    )


def test_late_fusion_weights_head_averages_what_is_available():
    model = LateFusionRegressor(("V", "A", "T"), "VAT", modality_dropout=0.0).eval()
    batch = _members_batch([[True, True, True], [True, False, True], [False, False, False]])
    with torch.no_grad():
        pred = model(batch)["pred"]
        torch.testing.assert_close(pred[0], batch.preds[0].mean(0))  # starts as the average
        torch.testing.assert_close(pred[1], batch.preds[1, [0, 2]].mean(0))
        torch.testing.assert_close(pred[2], model.fallback)
        model.logits[0, 3] = 50.0  # emotion 3 now follows the visual member alone
        torch.testing.assert_close(model(batch)["pred"][0, 3], batch.preds[0, 0, 3])
    with pytest.raises(ValueError, match="head 'tree'"):
        LateFusionRegressor(("V", "A"), "VA", head="tree")


def test_late_fusion_masks_unavailable_members():
    torch.manual_seed(0)
    model = LateFusionRegressor(
        ("V", "A", "T"), "VAT", head="mlp", hidden=8, modality_dropout=0.0
    ).eval()
    batch = _members_batch([[True, True, True], [True, False, True], [False, False, False]])
    assert model(batch)["pred"].shape == (3, 6)
    available = model.available(batch.present)
    assert available.tolist() == [[1, 1, 1], [1, 0, 1], [0, 0, 0]]
    changed = _members_batch([[True, False, True]])
    changed.preds[0] = batch.preds[1]
    changed.preds[0, 1] = 0.123  # the audio member's output does not count where audio is absent
    with torch.no_grad():
        torch.testing.assert_close(model(changed)["pred"][0], model(batch)["pred"][1])
    multi = LateFusionRegressor(("VA", "T"), "VAT", head="mlp", hidden=0)
    assert multi.available(torch.tensor([[False, True, False]])).tolist() == [[1, 0]]


def test_late_fusion_modality_dropout_only_in_training():
    model = LateFusionRegressor(("V", "A", "T"), "VAT", hidden=4, modality_dropout=0.5)
    present = torch.ones(2000, 3, dtype=torch.bool)
    torch.manual_seed(0)
    dropped = 1 - model.train().available(present).mean().item()
    assert 0.45 < dropped < 0.55
    assert model.eval().available(present).mean().item() == 1.0
    with pytest.raises(ValueError, match="outside"):
        LateFusionRegressor(("V", "T"), "VA")

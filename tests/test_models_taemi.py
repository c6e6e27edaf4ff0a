"""TAEMI on stored features: missing-modality tokens and modality dropout in the input space."""

from __future__ import annotations

import pytest
import torch

from emibench.models.inputs import Sequence, random_batch
from emibench.models.registry import build_model
from fake_train_inputs import DIMS

CFG = {
    "name": "taemi",
    "hidden": 16,
    "heads": 2,
    "head_hidden": 16,
    "attn_dropout": 0.0,
    "dropout": 0.0,
}


def _model(**options):
    torch.manual_seed(0)
    return build_model({**CFG, **options}, DIMS, "VAT")


def test_authors_shapes_from_config():
    """Their sizes: the raw text vector is the query and is concatenated, [t; a; v] -> 512 -> 6."""
    model = build_model(
        {"name": "taemi", "hidden": 512, "heads": 4, "head_hidden": 512},
        {"V": 768, "A": 1027, "T": 768},
        "VAT",
    )
    assert model.head[0].in_features == 768 + 2 * 512 == 1792
    assert model.head[-1].out_features == 6
    assert (
        model.cross["A"].q_proj.in_features == 768 and model.cross["A"].k_proj.in_features == 1027
    )
    assert {m: t.shape[0] for m, t in model.missing.items()} == {"V": 768, "A": 1027, "T": 768}


def test_tokens_replace_absent_inputs_in_their_input_space():
    model = _model().eval()
    batch = random_batch({"V": [5, 0, 3], "A": [0, 4, 3], "T": [2, 2, 0]})
    with torch.no_grad():
        x, mask = model.frame_sequence(batch, "A")
        assert x.shape[-1] == DIMS["A"]  # before any projection
        assert torch.equal(x[0, 0], model.missing["A"]) and mask[0].tolist() == [1, 0, 0, 0]
        torch.testing.assert_close(x[1, :4], batch.audio.data[1, :4])
        x, mask = model.frame_sequence(batch, "V")
        assert torch.equal(x[1, 0], model.missing["V"]) and mask[1].sum() == 1
        t = model.text_vector(batch)
        assert t.shape == (3, DIMS["T"]) and torch.equal(t[2], model.missing["T"])
        torch.testing.assert_close(t[0], batch.text_cls[0])


def test_absent_inputs_do_not_reach_the_prediction():
    """Whatever the stored values of an absent modality, a clip's prediction stays the same."""
    model = _model().eval()
    batch = random_batch({"V": [5, 0], "A": [0, 4], "T": [2, 0]})
    with torch.no_grad():
        before = model(batch)["pred"]
        noisy = batch.audio.data + torch.randn_like(batch.audio.data) * 5
        batch.audio = Sequence(noisy, batch.audio.mask, batch.audio.present)
        batch.audio.data[0] = 9.0  # clip 0 lacks audio
        batch.visual.data[1] = 7.0  # clip 1 lacks video and text
        batch.text_cls[1] = -3.0
        after = model(batch)["pred"]
    torch.testing.assert_close(before[0], after[0])
    assert not torch.allclose(before[1], after[1])  # clip 1's audio did change


@pytest.mark.parametrize("missing_tokens", [True, False])
def test_modality_dropout_uses_tokens_only_in_training(missing_tokens):
    model = _model(modality_dropout=1.0, missing_tokens=missing_tokens)
    batch = random_batch({"V": [5, 3], "A": [4, 4], "T": [2, 2]})
    empty = random_batch({"V": [0, 0], "A": [0, 0], "T": [0, 0]})
    with torch.no_grad():
        model.train()
        dropped = model(batch)["pred"]
        model.eval()
        all_missing = model(empty)["pred"]
        kept = model(batch)["pred"]
    torch.testing.assert_close(dropped, all_missing)
    assert not torch.allclose(kept, all_missing)


def test_without_missing_tokens_absent_inputs_are_zeros():
    model = _model(missing_tokens=False).eval()
    assert model.missing is None
    assert not any("missing" in name for name, _ in model.named_parameters())
    batch = random_batch({"V": [0, 3], "A": [4, 0], "T": [0, 2]})
    with torch.no_grad():
        assert torch.equal(model.text_vector(batch)[0], torch.zeros(DIMS["T"]))
        x, mask = model.frame_sequence(batch, "A")
        assert torch.equal(x[1], torch.zeros_like(x[1])) and mask[1].tolist() == [1, 0, 0, 0]


def test_modality_dropout_is_per_sample_and_per_modality():
    model = _model(modality_dropout=0.5).train()
    torch.manual_seed(1)
    present = torch.ones(4000, dtype=torch.bool)
    drops = torch.stack([model._absent(present) for _ in range(3)])
    assert 0.45 < drops.float().mean() < 0.55
    assert 0.2 < (drops[0] & drops[1]).float().mean() < 0.3  # independent draws


def test_every_clip_gets_a_prediction_with_everything_missing():
    model = _model().eval()
    with torch.no_grad():
        pred = model(random_batch({"V": [0, 0, 0], "A": [0, 0, 0], "T": [0, 0, 0]}))["pred"]
    assert pred.shape == (3, 6) and torch.isfinite(pred).all()

"""TAEMI's learnable missing-modality tokens and modality dropout."""

from __future__ import annotations

import torch

from emibench.models.inputs import Sequence, random_batch
from emibench.models.registry import build_model

DIMS = {"V": 12, "A": 10, "T": 8}
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


def test_tokens_replace_absent_inputs():
    model = _model().eval()
    batch = random_batch({"V": [5, 0, 3], "A": [0, 4, 3], "T": [2, 2, 0]})
    with torch.no_grad():
        x, mask = model.frame_sequence(batch, "A")
        assert torch.equal(x[0, 0], model.missing["A"]) and mask[0].tolist() == [
            True,
            False,
            False,
            False,
        ]
        torch.testing.assert_close(x[1, :4], model.proj["A"](batch.audio.data[1, :4]))
        x, mask = model.frame_sequence(batch, "V")
        assert torch.equal(x[1, 0], model.missing["V"]) and mask[1].sum() == 1
        query = model.text_query(batch)
        assert torch.equal(query[2], model.missing["T"])
        torch.testing.assert_close(query[0], model.proj["T"](batch.text_cls[0]))


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


def test_modality_dropout_uses_tokens_only_in_training():
    model = _model(modality_dropout=1.0)
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


def test_every_clip_gets_a_prediction_with_everything_missing():
    model = _model().eval()
    with torch.no_grad():
        pred = model(random_batch({"V": [0, 0, 0], "A": [0, 0, 0], "T": [0, 0, 0]}))["pred"]
    assert pred.shape == (3, 6) and torch.isfinite(pred).all()


def test_without_missing_tokens_absent_inputs_are_fixed_zeros():
    model = _model(missing_tokens=False).eval()
    assert all(
        torch.equal(t, torch.zeros(16)) and not t.requires_grad for t in model.missing.values()
    )
    batch = random_batch({"V": [5, 0], "A": [0, 4], "T": [2, 0]})
    with torch.no_grad():
        x, mask = model.frame_sequence(batch, "A")
        assert torch.equal(x[0, 0], torch.zeros(16)) and mask[0].sum() == 1
        assert torch.equal(model.text_query(batch)[1], torch.zeros(16))
    model.train()
    model(random_batch({"V": [3, 2], "A": [4, 1], "T": [2, 2]}))["pred"].sum().backward()
    assert all(t.grad is None for t in model.missing.values())
    assert model.proj["A"].weight.grad is not None

"""Every Stage II model builds from its config and trains a step on padded batches, for every
modality subset it accepts; bad configs fail with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from emibench.models.inputs import random_batch
from emibench.models.registry import MODELS, build_model, model_options
from fake_train_inputs import DIMS, DSCMN

SUBSETS = ["V", "A", "T", "VA", "VT", "AT", "VAT"]
# clip 0 has everything, 1 lacks audio, 2 lacks video and text, 3 lacks everything
LENGTHS = {"V": [9, 4, 0, 0], "A": [9, 0, 3, 0], "T": [5, 2, 0, 0]}

SMALL = {
    "dscmn": {**DSCMN, "tcn_channels": 8},
    "taemi": {"name": "taemi", "hidden": 16, "heads": 2, "head_hidden": 16},
    "vit_gru": {"name": "vit_gru", "hidden": 8, "layers": 3},
    "w2v_linear": {"name": "w2v_linear"},
}
DSCMN_OPTIONS = [
    {},
    {"time_base": "frames"},
    {"pool": "cls", "text_input": "tokens"},
    {"fusion": "mean", "gate": False},
]


def _step(model: torch.nn.Module, modalities: str) -> torch.Tensor:
    batch = random_batch({m: LENGTHS[m] for m in modalities}, DIMS)
    model.train()
    out = model(batch)
    assert out["pred"].shape == (4, 6)
    assert torch.isfinite(out["pred"]).all()
    loss = torch.nn.functional.mse_loss(out["pred"], batch.labels)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    return out["pred"]


@pytest.mark.parametrize("modalities", SUBSETS)
@pytest.mark.parametrize(
    "options", DSCMN_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()) or "default"
)
def test_dscmn_every_subset(modalities, options):
    torch.manual_seed(0)
    model = build_model({**SMALL["dscmn"], **options}, DIMS, modalities)
    _step(model, modalities)


@pytest.mark.parametrize("modalities", SUBSETS)
def test_taemi_every_subset(modalities):
    torch.manual_seed(0)
    _step(build_model(SMALL["taemi"], DIMS, modalities), modalities)


@pytest.mark.parametrize("name,modalities", [("vit_gru", "V"), ("w2v_linear", "A")])
def test_baselines(name, modalities):
    torch.manual_seed(0)
    _step(build_model(SMALL[name], DIMS, modalities), modalities)


def test_padding_does_not_change_predictions():
    """A clip's prediction is the same alone or padded inside a batch with a longer clip, whatever
    the padded steps hold (they are filled with a large value, not zeros, so that a model which
    forgot a mask cannot pass by multiplying by zero)."""
    torch.manual_seed(0)
    for name, modalities in [
        ("dscmn", "VAT"),
        ("taemi", "VAT"),
        ("vit_gru", "V"),
        ("w2v_linear", "A"),
    ]:
        model = build_model(SMALL[name], DIMS, modalities).eval()
        full = random_batch({m: [4, 11] for m in modalities}, DIMS, seed=3)
        alone = random_batch({m: [4] for m in modalities}, DIMS, seed=3)
        for m in modalities:  # copy clip 0's real steps into the single-clip batch
            seq, one = full.get(m), alone.get(m)
            one.data[0] = seq.data[0, : one.data.shape[1]]
            seq.data[0, one.data.shape[1] :] = 1e3
        if "T" in modalities:
            alone.text_cls[0] = full.text_cls[0]
        with torch.no_grad():
            torch.testing.assert_close(
                model(full)["pred"][0], model(alone)["pred"][0], atol=1e-5, rtol=1e-5
            )


def test_baseline_rejects_other_modalities():
    with pytest.raises(ValueError, match="vit_gru"):
        build_model(SMALL["vit_gru"], DIMS, "VA")


def test_unknown_key_and_name_are_named():
    with pytest.raises(KeyError, match="tcn_layerz"):
        build_model({**SMALL["dscmn"], "tcn_layerz": 3}, DIMS, "V")
    with pytest.raises(KeyError, match="nope"):
        build_model({"name": "nope"}, DIMS, "V")
    with pytest.raises(ValueError, match="time_base"):
        build_model({**SMALL["dscmn"], "time_base": "hours"}, DIMS, "V")


def test_schema_describes_every_model_option():
    schema = yaml.safe_load(
        (Path(__file__).parents[1] / "config/schema/train.schema.yaml").read_text()
    )
    described = set(schema["$defs"]["model"]["properties"])
    for name in MODELS:
        assert set(model_options(name)) <= described, name


def test_interval_weights_average_the_audio_frames_of_each_visual_step():
    from emibench.models.pooling import interval_weights

    # 50 Hz audio of 1 s (50 steps) onto 5 fps frames (5 steps): 10 audio steps each
    w = interval_weights(torch.tensor([50, 3]), torch.tensor([5, 5]), 50, 5)
    h = torch.arange(50.0).view(1, 50, 1).expand(2, 50, 1)
    means = (w @ h)[:, :, 0]
    torch.testing.assert_close(means[0], torch.tensor([4.5, 14.5, 24.5, 34.5, 44.5]))
    # a shorter source repeats its steps instead of leaving holes
    torch.testing.assert_close(means[1], torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0]))
    assert w.sum(-1).allclose(torch.ones(2, 5))

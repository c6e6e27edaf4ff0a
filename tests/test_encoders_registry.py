"""Each encoder loads from a local folder through the registry function the real config uses."""

import json
import os

import numpy as np
import pytest
import torch

from emibench.encoders.registry import (
    load_audio,
    load_encoder,
    load_text,
    load_vision,
    resolve_name,
)
from emibench.model_source import ModelNotFoundError
from features_fakes import MINILM, tiny_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tiny_models(tmp_path_factory.getbasetemp())


def test_tiny_clip_loads_as_open_clip_local_dir(models):
    encoder = load_encoder("vision", {"model_name": str(models["clip"]), "pretrained": ""})
    assert (encoder.dim, encoder.image_size, encoder.n_blocks) == (64, 64, 2)
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    with torch.no_grad():
        out = encoder(frames)
        resized = encoder(torch.randint(0, 256, (2, 40, 48, 3), dtype=torch.uint8))
    assert out.shape == (3, 64) and resized.shape == (2, 64)
    assert torch.isfinite(out).all()
    # the saved weights, not a fresh random init: a second load gives the same features
    with torch.no_grad():
        again = load_vision(str(models["clip"]))(frames)
    torch.testing.assert_close(out, again)


def test_tiny_wav2vec2_loads_with_its_feature_extractor(models):
    encoder = load_audio(str(models["wav2vec2"]))
    assert encoder.dim == 64 and encoder.rate_hz == pytest.approx(50.0)
    assert encoder.feature_extractor.sampling_rate == 16000
    waves = [
        np.random.default_rng(0).normal(size=16000).astype(np.float32),
        np.zeros(100, np.float32),
    ]
    with torch.no_grad():
        outs = encoder(waves)
    assert [o.shape for o in outs] == [(49, 64), (1, 64)]
    times = encoder.frame_times(16000)
    assert len(times) == 49 and np.allclose(np.diff(times), 0.02)


def test_shipped_minilm_loads_by_package_path_and_by_folder():
    folder = resolve_name(MINILM)
    assert os.path.isfile(os.path.join(folder, "config.json"))
    for name in (MINILM, folder):
        encoder = load_text(name, max_length=16)
        with torch.no_grad():
            hidden, mask = encoder(["hello there", "a much longer sentence than the first one is"])
        assert hidden.shape[0] == 2 and hidden.shape[2] == encoder.dim == 384
        assert mask[0].sum() < mask[1].sum() <= 16
        assert (
            encoder.tokenizer.convert_ids_to_tokens(encoder.tokenizer("hi")["input_ids"])[0]
            == "[CLS]"
        )


def test_tail_modules_pick_the_last_blocks(models):
    vision = load_vision(str(models["clip"]))
    assert vision.tail_modules(0) == []
    assert vision.tail_modules(1)[0] is vision.visual.transformer.resblocks[1]
    with pytest.raises(ValueError, match="cannot train the last 3"):
        vision.tail_modules(3)


def test_absent_models_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such file or directory"):
        load_vision(str(tmp_path / "missing_clip"))
    with pytest.raises(ModelNotFoundError, match="not in the hub cache"):
        load_audio("nobody/absent-wav2vec2")
    with pytest.raises(ModelNotFoundError, match="downloads are disabled"):
        load_vision("ViT-B-16", "openai")
    with pytest.raises(ModelNotFoundError, match="neither an existing file nor a known tag"):
        load_vision("ViT-B-16", "no-such-tag")
    with pytest.raises(ModelNotFoundError, match="not an open_clip architecture"):
        load_vision("NotAModel-B-99", "openai")


def test_a_folder_without_open_clip_config_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError, match="open_clip_config.json"):
        load_vision(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ModelNotFoundError, match="not a transformers ViT"):
        load_vision(str(tmp_path))

"""`emibench make-tiny-models`: deterministic tiny models in the formats the real loaders read."""

import json

import pytest
from safetensors.torch import load_file

from emibench.cli import main
from emibench.encoders.tiny import make_tiny_clip, make_tiny_model
from emibench.settings import ConfigError


def test_make_tiny_models_cli_is_deterministic(tmp_path):
    models = {
        "clip": {"kind": "clip", "image_size": 32, "patch_size": 8},
        "wav2vec2": {"kind": "wav2vec2"},
    }
    spec = json.dumps({"seed": 3, "models": models})
    for name in ("a", "b"):
        assert main(["make-tiny-models", "--out-dir", str(tmp_path / name), "--spec", spec]) == 0
    for name in ("a", "b"):
        assert (tmp_path / name / "wav2vec2" / "preprocessor_config.json").is_file()
        assert (tmp_path / name / "wav2vec2" / "config.json").is_file()
    config = json.loads((tmp_path / "a" / "clip" / "open_clip_config.json").read_text())
    assert config["model_cfg"]["vision_cfg"]["image_size"] == 32
    a = load_file(tmp_path / "a" / "clip" / "open_clip_model.safetensors")
    b = load_file(tmp_path / "b" / "clip" / "open_clip_model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_patch_must_divide_the_image(tmp_path):
    spec = {"image_size": 30, "patch_size": 8, "width": 16, "layers": 1, "heads": 1, "embed_dim": 8}
    with pytest.raises(ValueError, match="not a multiple"):
        make_tiny_clip(tmp_path, spec)


def test_unknown_kind_or_size_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="kind 'vit3'"):
        make_tiny_model(tmp_path, {"kind": "vit3"})
    with pytest.raises(ConfigError, match="widht"):
        make_tiny_model(tmp_path, {"kind": "clip", "widht": 8})


def test_tiny_emotion_wav2vec2_has_the_audeering_checkpoint_format(tmp_path):
    """wav2vec2.* and classifier.* weights, the published class name, a 3-output head; loaded
    with its head by the registry, each frame carries hidden + 3 values."""
    import numpy as np
    import torch

    from emibench.encoders.registry import load_audio

    make_tiny_model(tmp_path, {"kind": "wav2vec2_emotion", "hidden_size": 16, "conv_dim": 8})
    weights = load_file(tmp_path / "model.safetensors")
    assert {k.split(".")[0] for k in weights} == {"wav2vec2", "classifier"}
    assert weights["classifier.out_proj.weight"].shape == (3, 16)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["Wav2Vec2ForSpeechClassification"]
    assert config["id2label"] == {"0": "arousal", "1": "dominance", "2": "valence"}
    assert config["feat_extract_norm"] == "layer" and config["do_stable_layer_norm"]
    encoder = load_audio(str(tmp_path), head=True)
    assert encoder.dim == 16 + 3
    with torch.no_grad():
        (out,) = encoder([np.zeros(16000, np.float32)])
    assert out.shape == (49, 19)


def test_tiny_vit_loads_as_a_transformers_vision_encoder(tmp_path):
    import torch

    from emibench.encoders.registry import load_vision

    make_tiny_model(tmp_path, {"kind": "vit", "image_size": 32, "patch_size": 16})
    assert (
        json.loads((tmp_path / "preprocessor_config.json").read_text())["image_mean"] == [0.5] * 3
    )
    encoder = load_vision(str(tmp_path))
    assert (encoder.dim, encoder.image_size, encoder.n_blocks) == (64, 32, 2)
    with torch.no_grad():
        assert encoder(torch.zeros(3, 48, 40, 3, dtype=torch.uint8)).shape == (3, 64)

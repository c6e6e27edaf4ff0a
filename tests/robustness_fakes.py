"""Tiny frames, audio and transcript stores of one shard for the robustness tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emibench.asr.base import COLUMNS
from emibench.data.store import SequenceWriter
from emibench.data.tables import write_table

SIZE = 32
RATE = 16000
TONES = {"00001": 300.0, "00002": 700.0, "00003": 1100.0, "00004": 1500.0, "00005": 1900.0}


def textured_frames(rng: np.random.Generator, n: int, size: int = SIZE) -> np.ndarray:
    """(n, size, size, 3) uint8 with fine detail everywhere (so blur and patches show)."""
    return rng.integers(30, 226, size=(n, size, size, 3), dtype=np.uint8)


def write_frames(path: Path, seed: int = 0) -> Path:
    """Clips 00001..00005 with 1, 7, 10, 20 and 3 frames, and 00006 missing."""
    rng = np.random.default_rng(seed)
    with SequenceWriter(path, kind="frames", rate_hz=5.0, size=SIZE) as store:
        for clip_id, n in zip(TONES, (1, 7, 10, 20, 3)):
            store.write(
                clip_id,
                textured_frames(rng, n),
                extras={
                    "timestamps": np.arange(n, dtype=np.float32) / 5,
                    "face": np.arange(n) % 2 == 0,
                },
                source_fps=25.0,
            )
        store.write_missing("00006", (SIZE, SIZE, 3), np.uint8, "no decodable video frame")
    return path


def tone(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    """A tone with a syllable-like on/off envelope, float32 (N,)."""
    t = np.arange(round(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 2.0 * t) > -0.3).astype(np.float64)
    return (0.3 * envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: Path) -> Path:
    """Clips 00001..00005 each a tone of its own frequency (1 to 3 s), 00006 missing, 00007 silent."""
    with SequenceWriter(path, kind="audio", rate_hz=RATE) as store:
        for k, (clip_id, freq) in enumerate(TONES.items()):
            store.write(clip_id, tone(freq, 1.0 + 0.5 * k), sample_rate=RATE, source="mp4")
        store.write_missing("00006", (), np.float32, "no audio track in raw/00006.mp4")
        store.write("00007", np.zeros(RATE, np.float32), sample_rate=RATE, source="mp4")
    return path


def write_transcripts(path: Path) -> Path:
    rows = [
        {
            "id": clip_id,
            "text": f"that is really funny {clip_id}",
            "language": "en",
            "confidence": 0.9,
            "backend": "pocketsphinx",
            "status": "ok",
            "reason": "",
        }
        for clip_id in TONES
    ]
    rows.append({"id": "00006", "text": "", "backend": "pocketsphinx", "status": "no_audio"})
    write_table(pd.DataFrame(rows, columns=list(COLUMNS)), path)
    return path

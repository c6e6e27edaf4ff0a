"""A small fake Hume-Vidmimic2 root in the real layout, with the real layout's corners.

For dry runs and the paper-size rehearsal of ``config/vidmimic2.yaml``: the layout a licensed copy
has, not the synthetic set's (no ``latents.csv``, ``test_labels.csv`` or ``phrases.txt``):

- ``train_split.csv``/``valid_split.csv``: the real header, integer ids, k/N labels;
  ``test_split.csv``: the ``Filename`` column alone. Ids are consecutive over train, valid, test.
- ``raw/{id:05d}.mp4``: H.264 + AAC (44.1 or 48 kHz), frame rates from 15 to 30 (29.97 too) and
  several frame sizes (one portrait), drawn faces and eSpeak NG speech in every clip that has a
  soundtrack (the synthetic generator's renderer, :mod:`emibench.data.synthetic.generate`).
- ``audio/{id:05d}.mp3``: mono 16 kHz MP3 (PyAV's libmp3lame) for ``audio_file_share`` of the
  clips with a soundtrack.
- ``vit/{id:05d}.pkl`` (T, 384), one row per video frame, and ``wav2vec2/{id:05d}.pkl``
  (T, 768) at Wav2Vec2's ~50 frames/s: pickled float32 numpy arrays, random (seeded), like the
  organisers' features in shape only. A clip without a soundtrack has no wav2vec2 file.
- Corners, one each: the last train clip is over five minutes long (``long_clip_s``; 64x48 at
  5 fps so its file stays small), the last valid clip has no audio track, the last test clip is
  shorter than one 5 fps frame step (0.12 s).
- ``no_audio``: per split, that many more clips (drawn with the seed among the split's other,
  non-corner clips) without a soundtrack: no audio stream, no ``audio/`` file, no ``wav2vec2/``
  pickle, as the real set's clips without audio. Their transcripts are empty (status
  ``no_audio``), so a split where most clips lack audio has a modality missing for most of it.

``fake_root.json`` at the root records the settings, the corner ids, the ids of the ``no_audio``
clips and what each clip says. Deterministic for a seed (the same seed gives the same labels, plans
and speech; video bytes may differ across encoders).
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.synthetic.generate import ClipPlan, plan_dataset, render_clips
from emibench.data.synthetic.settings import SynthSettings
from emibench.emotions import EMOTIONS, SPLITS, format_id
from emibench.settings import ConfigError

log = logging.getLogger(__name__)

MARKER = "fake_root.json"
MEDIA_DIRS = ("raw", "audio", "vit", "wav2vec2")
VIT_DIM, WAV2VEC2_DIM = 384, 768
WAV2VEC2_RATE, WAV2VEC2_WINDOW, WAV2VEC2_HOP = 16000, 400, 320
SHORT_CLIP_S = 0.12  # under one 0.2 s step of 5 fps frame sampling
LONG_CLIP_FPS, LONG_CLIP_SIZE = Fraction(5), (64, 48)


@dataclass(frozen=True)
class FakeRootSettings:
    """What ``emibench make-fake-root --settings`` takes (all keys optional)."""

    seed: int = 0
    clips: dict[str, int] = field(default_factory=lambda: {"train": 14, "valid": 7, "test": 7})
    duration_s: tuple[float, float] = (3.0, 7.0)
    fps: tuple[float, ...] = (15.0, 24.0, 25.0, 29.97, 30.0)
    frame_sizes: tuple[tuple[int, int], ...] = ((160, 120), (128, 96), (176, 144), (96, 128))
    audio_rates: tuple[int, ...] = (44100, 48000)
    audio_file_share: float = 0.85
    long_clip_s: float = 310.0
    # split -> how many of its clips, beside the corners, have no soundtrack at all
    no_audio: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in SPLITS:
            if self.clips.get(split, 0) < 2:
                raise ConfigError(f"fake_root.clips.{split}: needs at least 2 (one is a corner)")
        for split, n in self.no_audio.items():
            if split not in SPLITS:
                raise ConfigError(f"fake_root.no_audio.{split}: not a split ({', '.join(SPLITS)})")
            if not 0 <= n <= self.clips.get(split, 0) - 1:
                raise ConfigError(
                    f"fake_root.no_audio.{split}: {n}, expected 0 to "
                    f"{self.clips.get(split, 0) - 1} (the split's clips less its corner)"
                )
        for width, height in self.frame_sizes:
            if width < 64 or height < 48 or width % 2 or height % 2:
                raise ConfigError(f"fake_root.frame_sizes: {width}x{height} is not even >= 64x48")
        if self.long_clip_s < self.duration_s[1]:
            raise ConfigError("fake_root.long_clip_s: shorter than the longest ordinary clip")


def _without_soundtrack(plan: ClipPlan) -> ClipPlan:
    return replace(plan, phrases=(), onsets=(), prosody=np.zeros((0, plan.prosody.shape[1])))


def plan_fake_root(settings: FakeRootSettings) -> list[ClipPlan]:
    """Every clip: synthetic plans with varied sizes and audio rates, and the three corners."""
    synth = SynthSettings(
        seed=settings.seed,
        clips=dict(settings.clips),
        subjects={split: max(1, n // 4) for split, n in settings.clips.items()},
        duration_s=settings.duration_s,
        fps=settings.fps,
        silent_share=0.0,
        no_audio_track_share=0.0,
        audio_file_share=settings.audio_file_share,
        edge_cases=False,
    )
    rng = np.random.default_rng([settings.seed, 11])
    plans = []
    for plan in plan_dataset(synth):
        width, height = settings.frame_sizes[int(rng.integers(len(settings.frame_sizes)))]
        rate = settings.audio_rates[int(rng.integers(len(settings.audio_rates)))]
        plans.append(replace(plan, width=width, height=height, audio_rate=rate))
    last = {split: max(i for i, p in enumerate(plans) if p.split == split) for split in SPLITS}
    long_clip = plans[last["train"]]
    plans[last["train"]] = replace(
        long_clip,
        edge_case="long",
        duration_s=round(settings.long_clip_s * LONG_CLIP_FPS) / float(LONG_CLIP_FPS),
        fps=LONG_CLIP_FPS,
        width=LONG_CLIP_SIZE[0],
        height=LONG_CLIP_SIZE[1],
        detail=False,
    )
    plans[last["valid"]] = replace(_no_audio(plans[last["valid"]]), edge_case="no_audio_track")
    plans[last["test"]] = replace(
        _without_soundtrack(plans[last["test"]]),
        edge_case="shorter_than_a_frame_step",
        duration_s=SHORT_CLIP_S,
        silent=True,
    )
    for split, n in sorted(settings.no_audio.items()):
        others = [i for i, p in enumerate(plans) if p.split == split and not p.edge_case]
        pick = np.random.default_rng([settings.seed, 12, SPLITS.index(split)])
        for i in sorted(pick.choice(others, size=n, replace=False).tolist()):
            plans[i] = _no_audio(plans[i])
    return plans


def _no_audio(plan: ClipPlan) -> ClipPlan:
    """The clip without a soundtrack: no audio stream and no separate audio file."""
    return replace(
        _without_soundtrack(plan), has_audio_track=False, has_audio_file=False, silent=False
    )


def _is_no_audio(plan: ClipPlan) -> bool:
    """One of the ``no_audio`` clips (not a corner)."""
    return not plan.has_audio_track and not plan.edge_case


def wav2vec2_frames(duration_s: float) -> int:
    """Rows Wav2Vec2 gives for a clip: 25 ms windows every 20 ms of 16 kHz audio (at least 1)."""
    samples = round(duration_s * WAV2VEC2_RATE)
    return max(1, (samples - WAV2VEC2_WINDOW) // WAV2VEC2_HOP + 1)


def write_organiser_features(plans: list[ClipPlan], root: Path, seed: int) -> None:
    """``vit/{id}.pkl`` for every clip, ``wav2vec2/{id}.pkl`` for those with a soundtrack."""
    for plan in plans:
        rng = np.random.default_rng([seed, 13, plan.id])
        stem = format_id(plan.id)
        arrays = {"vit": rng.normal(size=(plan.n_frames, VIT_DIM)).astype(np.float32)}
        if plan.has_audio_track:
            rows = wav2vec2_frames(plan.duration_s)
            arrays["wav2vec2"] = rng.normal(size=(rows, WAV2VEC2_DIM)).astype(np.float32)
        for folder, array in arrays.items():
            with open(root / folder / f"{stem}.pkl", "wb") as handle:
                pickle.dump(array, handle)


def write_split_files(plans: list[ClipPlan], root: Path) -> None:
    """``{split}_split.csv``: the real header with labels; test with the Filename column only."""
    for split in SPLITS:
        rows = [p for p in plans if p.split == split]
        frame = pd.DataFrame(
            [[p.id, *np.round(p.labels, 4)] for p in rows], columns=["Filename", *EMOTIONS]
        )
        if split == "test":
            frame = frame[["Filename"]]
        frame.to_csv(root / f"{split}_split.csv", index=False)


def _prepare(root: Path) -> None:
    """Create the root; clear an earlier fake root's media, never a real root's."""
    root.mkdir(parents=True, exist_ok=True)
    has_media = any((root / d).is_dir() and any((root / d).iterdir()) for d in MEDIA_DIRS)
    if has_media and not (root / MARKER).is_file():
        raise FileExistsError(
            f"{root} holds media but no {MARKER}: not a fake root; refusing to overwrite it"
        )
    (root / MARKER).unlink(missing_ok=True)
    for name in MEDIA_DIRS:
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).mkdir()


def make_fake_root(
    root: str | Path, settings: FakeRootSettings | None = None, threads: int = 1
) -> Path:
    """Write the fake root (see the module doc) into ``root``; returns ``root``."""
    settings = settings or FakeRootSettings()
    root = Path(root)
    start = time.perf_counter()
    plans = plan_fake_root(settings)
    _prepare(root)
    render_clips(plans, root, threads, audio_format="mp3")
    write_organiser_features(plans, root, settings.seed)
    write_split_files(plans, root)
    corners = {p.edge_case: format_id(p.id) for p in plans if p.edge_case}
    spoken = {format_id(p.id): p.transcript for p in plans if p.phrases}
    no_audio = {
        split: [format_id(p.id) for p in plans if p.split == split and _is_no_audio(p)]
        for split in settings.no_audio
    }
    record = {
        "settings": asdict(settings),
        "corners": corners,
        "clips": len(plans),
        "no_audio": no_audio,
        "speech": spoken,
    }
    (root / MARKER).write_text(json.dumps(record, indent=1) + "\n")
    log.info(
        "fake root: %d clips (%s), %d with speech, %d without audio, %d mp3 files, "
        "%.1f min of video, corners %s, in %.1f s -> %s",
        len(plans),
        ", ".join(f"{s} {sum(p.split == s for p in plans)}" for s in SPLITS),
        len(spoken),
        sum(not p.has_audio_track for p in plans),
        sum(p.has_audio_file for p in plans),
        sum(p.duration_s for p in plans) / 60,
        corners,
        time.perf_counter() - start,
        root,
    )
    return root

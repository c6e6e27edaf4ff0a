"""``emibench frames`` and ``emibench audio``: one shard of the manifest into a sequence store."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import json_arg

log = logging.getLogger(__name__)


def _shard_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest", required=True, help="manifest table (results/<dataset>/manifest.tsv)"
    )
    parser.add_argument(
        "--split", required=True, choices=["train", "valid", "test"], help="split to work on"
    )
    parser.add_argument("--shard", required=True, type=int, help="shard number within the split")
    parser.add_argument("--out", required=True, help="output store (.h5)")
    parser.add_argument(
        "--config",
        type=json_arg,
        default={},
        help="settings as one JSON object (the config section)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``frames`` and ``audio`` to ``sub``."""
    frames = sub.add_parser(
        "frames",
        help="sample frames of one shard at a fixed rate, face-cropped and resized",
        description="Decode every clip of one manifest shard with PyAV, sample frames by timestamp at "
        "rate_hz (capped at max_frames by uniform sampling), crop around the largest face (Haar) or "
        "the centre, resize to size x size and store uint8 RGB per clip id. Config keys: "
        "rate_hz, max_frames, size, face {detector, margin, detect_every, detect_width, min_size}.",
    )
    _shard_args(frames)
    frames.add_argument("--threads", type=int, default=1, help="decoder threads")
    frames.set_defaults(func=run_frames)

    audio = sub.add_parser(
        "audio",
        help="extract mono 16 kHz float audio of one shard",
        description="For every clip of one manifest shard, decode the dataset's audio file when present "
        "and readable, else the mp4's audio stream, resample to mono sample_rate float32 (first "
        "max_seconds only when set) and store it per clip id; clips without audio get an empty "
        "entry with missing=True and the reason. Config keys: sample_rate, max_seconds.",
    )
    _shard_args(audio)
    audio.set_defaults(func=run_audio)


def run_frames(args: argparse.Namespace) -> int:
    from emibench.media.frames import FrameSettings, write_frames_shard
    from emibench.settings import settings_from

    settings = settings_from(FrameSettings, args.config, "preprocess.frames")
    log.info(
        "frames: %s split=%s shard=%d -> %s with %s",
        args.manifest,
        args.split,
        args.shard,
        args.out,
        settings,
    )
    report = write_frames_shard(
        args.manifest, args.split, args.shard, args.out, settings, args.threads
    )
    log.info(report.summary())
    return 0


def run_audio(args: argparse.Namespace) -> int:
    from emibench.media.audio import AudioSettings, write_audio_shard
    from emibench.settings import settings_from

    settings = settings_from(AudioSettings, args.config, "preprocess.audio")
    log.info(
        "audio: %s split=%s shard=%d -> %s with %s",
        args.manifest,
        args.split,
        args.shard,
        args.out,
        settings,
    )
    report = write_audio_shard(args.manifest, args.split, args.shard, args.out, settings)
    log.info(report.summary())
    return 0

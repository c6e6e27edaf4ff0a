"""`emibench bench preprocess`: speed of frames, audio and transcription, and cost per hour of video.

Clips come from a manifest shard (``--manifest/--split/--shard``, e.g. the real set) or are
synthesized into a temporary folder with the project's synthetic generator (``--clips N``; the
known transcripts then also give PocketSphinx's word error rate). The settings are the
``preprocess`` section of ``--configfile``. Each step runs exactly as its workflow rule does (one
process, the same shard functions) and the figures are printed with the machine; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time
from pathlib import Path

from emibench.settings import ConfigError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `preprocess` benchmark to `emibench bench`."""
    parser = sub.add_parser(
        "preprocess",
        help="frames/s, audio s/s, ASR real-time factor and cost per hour of video",
        description="Run frames, audio and the configured ASR over N synthetic clips (or one manifest "
        "shard) and print throughput, real-time factors and the cost per hour of video, with the "
        "machine and the settings.",
    )
    parser.add_argument(
        "--configfile", default="config/config.yaml", help="config whose preprocess section is used"
    )
    parser.add_argument(
        "--clips", type=int, default=24, help="synthetic clips to generate (without --manifest)"
    )
    parser.add_argument("--manifest", help="take the clips of a manifest shard instead")
    parser.add_argument("--split", default="train", help="split of --manifest")
    parser.add_argument("--shard", type=int, default=0, help="shard of --manifest")
    parser.add_argument(
        "--phrases", default="", help="phrase bank for pocketsphinx (default: the synthetic one)"
    )
    parser.add_argument("--device", default="auto", help="torch device for whisper")
    parser.add_argument("--threads", type=int, default=1, help="decoder / torch threads")
    parser.add_argument(
        "--workdir", help="keep the clips and outputs here (default: a temporary folder)"
    )
    parser.set_defaults(func=run)


def _preprocess_config(path: str) -> dict:
    import yaml

    if not Path(path).is_file():
        raise ConfigError(
            f"--configfile {path}: no such file (run from the repository root, or pass a config)"
        )
    with open(path, encoding="utf-8") as handle:
        return (yaml.safe_load(handle) or {}).get("preprocess", {}) or {}


def synthesize(root: Path, n_clips: int, threads: int):
    """``n_clips`` synthetic train clips in ``root``; returns the manifest path (one shard per
    split, built by ``data.manifest`` as the workflow builds it) and the latents table."""
    from emibench.data.manifest import build_manifest
    from emibench.data.synthetic.generate import generate
    from emibench.data.synthetic.settings import SynthSettings
    from emibench.data.tables import write_table
    from emibench.settings import settings_from

    settings = settings_from(
        SynthSettings,
        {
            "clips": {"train": n_clips, "valid": 1, "test": 1},
            "subjects": {"train": 4, "valid": 1, "test": 1},
            "edge_cases": False,
        },
        "synthetic",
    )
    latents = generate(settings, root, threads=threads)
    manifest = root / "manifest.tsv"
    write_table(build_manifest(root, {"train": 1, "valid": 1, "test": 1}, threads), manifest)
    return manifest, latents


def _timed(step):
    """``(result, wall seconds)``; the CPU seconds of this process go to ``_timed.cpu``."""
    start, cpu = time.perf_counter(), time.process_time()
    result = step()
    _timed.cpu = time.process_time() - cpu
    return result, time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        work = Path(args.workdir) if args.workdir else None
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="emibench-bench-")))
        work.mkdir(parents=True, exist_ok=True)
        print("\n".join(measure_preprocess(args, work)), flush=True)
    return 0


def measure_preprocess(args: argparse.Namespace, work: Path) -> list[str]:
    """Run frames, audio and ASR on one shard in ``work`` as the rules do; the report's lines."""
    import numpy as np

    from emibench.asr.settings import AsrSettings
    from emibench.asr.transcribe import make_transcriber, transcribe_shard
    from emibench.asr.wer import word_error_rate
    from emibench.bench.machine import describe_machine
    from emibench.data.store import SequenceReader
    from emibench.data.tables import read_table
    from emibench.media.audio import AudioSettings, write_audio_shard
    from emibench.media.frames import FrameSettings, write_frames_shard
    from emibench.model_source import is_local
    from emibench.settings import ConfigError, settings_from

    config = _preprocess_config(args.configfile)
    frames_settings = settings_from(FrameSettings, config.get("frames"), "preprocess.frames")
    audio_settings = settings_from(AudioSettings, config.get("audio"), "preprocess.audio")
    asr_settings = settings_from(AsrSettings, config.get("asr"), "preprocess.asr")
    model = asr_settings.model
    if asr_settings.backend == "whisper" and is_local(model) and not Path(model).exists():
        raise ConfigError(
            f"preprocess.asr.model: {model} does not exist; write a tiny Whisper there with "
            f"`emibench make-tiny-whisper --out {model}`"
        )
    latents = None
    if args.manifest:
        manifest, split, shard, phrases = Path(args.manifest), args.split, args.shard, args.phrases
    else:
        (manifest, latents), seconds = _timed(
            lambda: synthesize(work / "data", args.clips, args.threads)
        )
        log.info("synthesized %d clips in %.1f s", args.clips, seconds)
        split, shard, phrases = "train", 0, args.phrases or str(work / "data" / "phrases.txt")

    frames_report, frames_s = _timed(
        lambda: write_frames_shard(
            manifest, split, shard, work / "frames.h5", frames_settings, args.threads
        )
    )
    frames_cpu = _timed.cpu
    audio_report, audio_s = _timed(
        lambda: write_audio_shard(manifest, split, shard, work / "audio.h5", audio_settings)
    )
    audio_cpu = _timed.cpu
    transcriber, load_s = _timed(
        lambda: make_transcriber(asr_settings, args.device, phrases or None)
    )
    _asr_report, asr_s = _timed(
        lambda: transcribe_shard(
            manifest,
            split,
            shard,
            work / "audio.h5",
            work / "transcripts.tsv",
            transcriber,
            asr_settings.batch_size,
        )
    )
    asr_cpu = _timed.cpu

    with SequenceReader(work / "frames.h5") as store:
        video_s = sum(float(store.attrs(i).get("duration_s", 0.0)) for i in store.ids())
        n_frames = sum(
            len(store.extra(i, "timestamps")) for i in store.ids() if not store.is_missing(i)
        )
    audio_seconds = float(audio_report.totals["audio_seconds"])
    n_clips = frames_report.done + frames_report.missing

    lines = [
        "emibench bench preprocess",
        f"machine: {describe_machine()}",
        f"settings: frames {frames_settings}",
        f"          audio {audio_settings}",
        f"          asr {transcriber.describe()} (batch {asr_settings.batch_size})",
        f"clips: {n_clips} ({video_s:.1f} s of video, {audio_seconds:.1f} s of audio, {n_frames} sampled frames)",
        (
            f"frames: {frames_s:.2f} s wall ({frames_cpu:.2f} s CPU) -> {n_frames / frames_s:.1f} frames/s, "
            f"{video_s / frames_s:.1f} s of video/s (real-time factor {frames_s / video_s:.4f})"
        ),
        (
            f"audio:  {audio_s:.2f} s wall ({audio_cpu:.2f} s CPU) -> {audio_seconds / audio_s:.1f} s of audio/s "
            f"(real-time factor {audio_s / max(audio_seconds, 1e-9):.4f})"
        ),
        (
            f"asr:    {asr_s:.2f} s wall ({asr_cpu:.2f} s CPU; +{load_s:.2f} s model load) -> "
            f"{audio_seconds / asr_s:.1f} s of audio/s (real-time factor {asr_s / max(audio_seconds, 1e-9):.4f})"
        ),
    ]
    per_hour = {
        name: 3600 * seconds / video_s
        for name, seconds in (("frames", frames_s), ("audio", audio_s), ("asr", asr_s))
    }
    total = sum(per_hour.values())
    lines.append(
        "cost per hour of video (one process, wall): "
        + ", ".join(f"{name} {value / 60:.2f} min" for name, value in per_hour.items())
        + f", total {total / 60:.2f} min"
    )
    cpu_hour = 3600 * (frames_cpu + audio_cpu + asr_cpu) / video_s
    lines.append(
        f"cost per hour of video in CPU time: {cpu_hour / 60:.2f} CPU-min (wall differs on a loaded machine)"
    )
    if latents is not None:
        said = dict(zip(latents["id"], latents["transcript"].fillna("")))
        table = read_table(work / "transcripts.tsv").fillna({"text": ""})
        scored = table[(table["status"] == "ok") & table["id"].map(lambda i: bool(said.get(i)))]
        if len(scored):
            wer = np.mean(
                [word_error_rate(said[i], text) for i, text in zip(scored["id"], scored["text"])]
            )
            lines.append(
                f"asr word error rate on {len(scored)} synthetic clips with speech: {wer:.3f}"
            )
    return lines

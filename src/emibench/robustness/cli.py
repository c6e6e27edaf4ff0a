"""``emibench corrupt``: one condition's frames, audio and transcript stores for one shard."""

from __future__ import annotations

import argparse
import logging

from emibench.settings import ConfigError
from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)

PAIRS = (("frames", "frames_out"), ("audio", "audio_out"), ("transcripts", "transcripts_out"))


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``corrupt`` to ``sub``."""
    parser = sub.add_parser(
        "corrupt",
        help="apply one robustness condition to the frames/audio/transcripts of one shard",
        description="Write a condition's stores for one shard from the clean ones: vision ops "
        "(occlude, blur, low_light, drop_frames) on the frames store, audio ops (noise, "
        "remove_audio) on the audio store, remove_text on the transcript table; every clip keeps "
        "an entry. Give an input/output pair per store to write, at least one that the condition "
        "changes (the DAG reuses the clean file of the others; a pair for an untouched store "
        "writes a copy; the stores may be written in separate calls). Everything is fixed by --seed, the condition name and the clip id (docs/robustness.md).",
    )
    parser.add_argument("--condition", required=True, help="the condition's name")
    parser.add_argument(
        "--spec",
        required=True,
        type=json_arg,
        help="the condition's list of ops as JSON (robustness.conditions.<name>)",
    )
    parser.add_argument("--seed", type=int, default=0, help="robustness.seed")
    parser.add_argument("--split", required=True, choices=["valid", "test", "train"])
    parser.add_argument("--shard", required=True, type=int, help="shard number within the split")
    parser.add_argument("--frames", default="", help="the clean frames store of the shard (.h5)")
    parser.add_argument("--frames-out", default="", help="the condition's frames store (.h5)")
    parser.add_argument("--audio", default="", help="the clean audio store of the shard (.h5)")
    parser.add_argument("--audio-out", default="", help="the condition's audio store (.h5)")
    parser.add_argument("--transcripts", default="", help="the clean transcript table (.tsv)")
    parser.add_argument("--transcripts-out", default="", help="the condition's transcripts (.tsv)")
    add_compute_options(parser, device=False)
    parser.set_defaults(func=run_corrupt)


def _check_pairs(args: argparse.Namespace, corrupts: tuple[str, ...], text: str) -> list[str]:
    """The stores to write: the pairs given, at least one of them a store the condition changes
    (one call per store is fine); ConfigError for a half pair or transcripts of an asr condition."""
    todo = []
    for src, dst in PAIRS:
        given_in, given_out = bool(getattr(args, src)), bool(getattr(args, dst))
        flag_in, flag_out = f"--{src}", f"--{dst.replace('_', '-')}"
        if given_in != given_out:
            raise ConfigError(f"corrupt: {flag_in} and {flag_out} go together")
        if src == "transcripts" and given_in and text == "asr":
            raise ConfigError(
                f"corrupt: condition {args.condition} takes its transcripts from `emibench "
                "transcribe` on its audio store; drop --transcripts/--transcripts-out"
            )
        if given_in:
            todo.append(src)
    if not set(todo) & set(corrupts):
        raise ConfigError(
            f"corrupt: condition {args.condition} changes {list(corrupts)}; give at least one of "
            + ", ".join(f"--{store}" for store in corrupts)
            + (f" (given: {todo}, which it leaves untouched)" if todo else "")
        )
    return todo


def run_corrupt(args: argparse.Namespace) -> int:
    import cv2

    from emibench.robustness.corrupt import corrupt_audio, corrupt_frames, corrupt_transcripts
    from emibench.robustness.spec import parse_condition

    cv2.setNumThreads(max(1, args.threads))
    condition = parse_condition(args.condition, args.spec)
    if args.seed < 0:
        raise ConfigError(f"corrupt: --seed must be non-negative, got {args.seed}")
    todo = _check_pairs(args, condition.corrupts, condition.text)
    log.info(
        "corrupt %s %s/%d: %s (text: %s; seed %d)",
        condition.name,
        args.split,
        args.shard,
        condition.to_json(),
        condition.text,
        args.seed,
    )
    for store in todo:
        if store not in condition.corrupts:
            log.info("%s: untouched by %s, written as a copy", store, condition.name)
    if "frames" in todo:
        report = corrupt_frames(
            condition, args.seed, args.frames, args.frames_out, args.split, args.shard
        )
        log.info(report.summary())
    if "audio" in todo:
        report = corrupt_audio(
            condition, args.seed, args.audio, args.audio_out, args.split, args.shard
        )
        log.info(report.summary())
    if "transcripts" in todo:
        table = corrupt_transcripts(condition, args.transcripts, args.transcripts_out)
        log.info(
            "corrupt[%s] transcripts %s/%d: %d rows, status %s -> %s",
            condition.name,
            args.split,
            args.shard,
            len(table),
            table["status"].value_counts().to_dict(),
            args.transcripts_out,
        )
    return 0

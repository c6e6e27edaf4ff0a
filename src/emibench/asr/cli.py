"""``emibench transcribe``, ``emibench merge-transcripts`` and ``emibench make-tiny-whisper``."""

from __future__ import annotations

import argparse
import logging
import time

from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    transcribe = sub.add_parser(
        "transcribe",
        help="transcribe the audio of one shard (whisper or pocketsphinx)",
        description="Read one shard's audio store and write its transcript table (id, text, language, "
        "confidence, backend, status, reason), one row per manifest clip. Config keys: backend, model, "
        "language, batch_size, chunk_length_s, num_beams, max_new_tokens, precision, vocabulary.",
    )
    transcribe.add_argument("--manifest", required=True, help="manifest table")
    transcribe.add_argument(
        "--split", required=True, choices=["train", "valid", "test"], help="split"
    )
    transcribe.add_argument(
        "--shard", required=True, type=int, help="shard number within the split"
    )
    transcribe.add_argument("--audio", required=True, help="the shard's audio store (.h5)")
    transcribe.add_argument("--out", required=True, help="output table (.tsv)")
    transcribe.add_argument(
        "--config", type=json_arg, default={}, help="the preprocess.asr section as one JSON object"
    )
    transcribe.add_argument(
        "--phrases", default="", help="phrase bank (pocketsphinx vocabulary phrase_bank)"
    )
    add_compute_options(transcribe)
    transcribe.set_defaults(func=run_transcribe)

    merge = sub.add_parser(
        "merge-transcripts",
        help="merge a split's shard transcript tables into one",
        description="Concatenate shard transcript tables, check columns and unique ids, sort by id.",
    )
    merge.add_argument("inputs", nargs="+", help="shard tables (.tsv)")
    merge.add_argument("--out", required=True, help="merged table (.tsv)")
    merge.set_defaults(func=run_merge)

    tiny = sub.add_parser(
        "make-tiny-whisper",
        help="write a tiny random-initialised Whisper model and processor (offline)",
        description="Build a tiny WhisperForConditionalGeneration (random weights, seeded) with a "
        "byte-level BPE tokenizer trained offline and Whisper's special tokens, loadable by the "
        "transformers ASR pipeline; for the demo and the tests.",
    )
    tiny.add_argument("--out", required=True, help="output folder")
    tiny.add_argument("--seed", type=int, default=0, help="initialisation seed")
    tiny.set_defaults(threads=1)
    tiny.set_defaults(func=run_make_tiny_whisper)


def run_transcribe(args: argparse.Namespace) -> int:
    from emibench.asr.settings import AsrSettings
    from emibench.asr.transcribe import make_transcriber, transcribe_shard
    from emibench.settings import settings_from

    settings = settings_from(AsrSettings, args.config, "preprocess.asr")
    start = time.perf_counter()
    transcriber = make_transcriber(settings, args.device, args.phrases or None)
    log.info("transcribe: %s loaded in %.1f s", transcriber.describe(), time.perf_counter() - start)
    report = transcribe_shard(
        args.manifest,
        args.split,
        args.shard,
        args.audio,
        args.out,
        transcriber,
        settings.batch_size,
    )
    log.info(report.summary())
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from emibench.asr.transcribe import merge_transcripts

    merged = merge_transcripts(args.inputs, args.out)
    counts = merged["status"].value_counts().to_dict()
    log.info(
        "merge-transcripts: %d clips from %d shards -> %s; status %s",
        len(merged),
        len(args.inputs),
        args.out,
        counts,
    )
    return 0


def run_make_tiny_whisper(args: argparse.Namespace) -> int:
    from emibench.asr.tiny_whisper import make_tiny_whisper

    make_tiny_whisper(args.out, seed=args.seed)
    log.info("make-tiny-whisper: wrote %s", args.out)
    return 0

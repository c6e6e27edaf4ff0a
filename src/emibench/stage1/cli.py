"""``emibench stage1``: contrastive alignment of one pair (vision-text or audio-text)."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "stage1",
        help="Stage I: vision-text or audio-text contrastive alignment (InfoNCE, SGDR)",
        description="Train the projection heads, temperature and optionally the last encoder blocks of "
        "one pair on the train split (paper eq. 1, section 4.3); log loss and retrieval recall on valid "
        "(and test, when given) per epoch; keep the snapshot that the setting select names; write "
        "the checkpoint and the log.",
    )
    parser.add_argument(
        "--pair", required=True, choices=["vision_text", "audio_text"], help="which pair to train"
    )
    for split in ("train", "valid", "test"):
        given = "" if split != "test" else " (optional: retrieval on test is logged, never used)"
        parser.add_argument(
            f"--{split}-media",
            nargs="+",
            required=split != "test",
            help=f"{split} shard stores of the pair's media (frames or audio){given}",
        )
        parser.add_argument(
            f"--{split}-transcripts",
            nargs="+",
            required=split != "test",
            help=f"{split} transcript table(s){given}",
        )
    parser.add_argument(
        "--media-encoder",
        type=json_arg,
        required=True,
        help="JSON spec of the media encoder (encoders.vision/audio)",
    )
    parser.add_argument(
        "--text-encoder",
        type=json_arg,
        required=True,
        help="JSON spec of the text encoder (encoders.text)",
    )
    parser.add_argument("--settings", type=json_arg, default={}, help="JSON: config section stage1")
    parser.add_argument(
        "--extract",
        type=json_arg,
        default={},
        help="JSON: config section features (batch sizes, precision)",
    )
    parser.add_argument("--checkpoint", required=True, help="output checkpoint (.pt)")
    parser.add_argument("--log", required=True, help="output per-epoch log (.tsv)")
    add_compute_options(parser)
    parser.set_defaults(func=_stage1)


def _stage1(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.encoding.settings import extract_settings
    from emibench.settings import ConfigError, settings_from
    from emibench.stage1.run import align_pair
    from emibench.stage1.train import Stage1Settings

    if (args.test_media is None) != (args.test_transcripts is None):
        raise ConfigError("stage1: give both --test-media and --test-transcripts, or neither")
    inputs = {
        split: (getattr(args, f"{split}_media"), getattr(args, f"{split}_transcripts"))
        for split in ("train", "valid", "test")
        if getattr(args, f"{split}_media") is not None
    }
    align_pair(
        args.pair,
        inputs,
        args.media_encoder,
        args.text_encoder,
        settings_from(Stage1Settings, args.settings, "stage1"),
        extract_settings(args.extract),
        resolve_device(args.device),
        args.checkpoint,
        args.log,
    )
    return 0

"""``emibench stage1``: contrastive alignment, both pairs at once (joint) or one pair."""

from __future__ import annotations

import argparse
import logging

from emibench.features.sets import STAGE1_PAIRS, STAGE1_TARGETS
from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)

TARGETS = tuple(STAGE1_TARGETS)
# the media stores (and so the encoders) each target reads
NEEDS = {
    target: tuple("frames" if STAGE1_PAIRS[p] == "visual" else "audio" for p in pairs)
    for target, pairs in STAGE1_TARGETS.items()
}
ENCODER_OPTIONS = {"frames": "vision_encoder", "audio": "audio_encoder"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "stage1",
        help="Stage I: modality-text contrastive alignment (InfoNCE, SGDR), joint or one pair",
        description="Train the projection heads, temperatures and optionally the last encoder "
        "blocks on the train split (paper eq. 1, sections 3.6 and 4.3): --pair joint trains "
        "vision-text and audio-text with one text encoder and the loss L_v2t + L_a2t (config "
        "stage1.objective: joint); vision_text or audio_text trains one pair with its own text "
        "encoder (objective: pairs). Log each pair's loss and retrieval recall on valid (and "
        "test, when given) per epoch; keep the snapshot that the setting select names; write the "
        "checkpoint and the log.",
    )
    parser.add_argument(
        "--pair",
        required=True,
        choices=list(TARGETS),
        help="joint (both pairs, one text encoder) or the one pair to train",
    )
    for split in ("train", "valid", "test"):
        given = "" if split != "test" else " (optional: retrieval on test is logged, never used)"
        parser.add_argument(
            f"--{split}-frames",
            nargs="+",
            help=f"{split} frames shard stores (joint, vision_text){given}",
        )
        parser.add_argument(
            f"--{split}-audio",
            nargs="+",
            help=f"{split} audio shard stores (joint, audio_text){given}",
        )
        parser.add_argument(
            f"--{split}-transcripts",
            nargs="+",
            required=split != "test",
            help=f"{split} transcript table(s){given}",
        )
    parser.add_argument(
        "--vision-encoder",
        type=json_arg,
        help="JSON spec of the vision encoder (encoders.vision; joint, vision_text)",
    )
    parser.add_argument(
        "--audio-encoder",
        type=json_arg,
        help="JSON spec of the audio encoder (encoders.audio; joint, audio_text)",
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


def _inputs(args: argparse.Namespace) -> dict:
    """{split: SplitInputs} of the splits given, checked against what ``--pair`` reads."""
    from emibench.settings import ConfigError
    from emibench.stage1.run import SplitInputs

    needs = NEEDS[args.pair]
    unused = [
        f"--{split}-{store}"
        for split in ("train", "valid", "test")
        for store in ("frames", "audio")
        if store not in needs and getattr(args, f"{split}_{store}") is not None
    ]
    unused += [
        f"--{ENCODER_OPTIONS[store].replace('_', '-')}"
        for store in ("frames", "audio")
        if store not in needs and getattr(args, ENCODER_OPTIONS[store]) is not None
    ]
    if unused:
        raise ConfigError(f"stage1 --pair {args.pair} does not read {' '.join(unused)}")
    lacking = [
        f"--{ENCODER_OPTIONS[store].replace('_', '-')}"
        for store in needs
        if getattr(args, ENCODER_OPTIONS[store]) is None
    ]
    inputs = {}
    for split in ("train", "valid", "test"):
        given = {store: getattr(args, f"{split}_{store}") for store in (*needs, "transcripts")}
        if split == "test" and all(v is None for v in given.values()):
            continue
        lacking += [f"--{split}-{store}" for store, paths in given.items() if paths is None]
        inputs[split] = SplitInputs(**{k: v or () for k, v in given.items()})
    if lacking:
        raise ConfigError(
            f"stage1 --pair {args.pair}: missing {' '.join(lacking)} (the test split is "
            "optional, but then all of its stores are given)"
        )
    return inputs


def _stage1(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.encoding.settings import extract_settings
    from emibench.settings import ConfigError
    from emibench.stage1.run import align
    from emibench.stage1.train import stage1_settings

    settings = stage1_settings(args.settings)
    expected = "joint" if settings.objective == "joint" else "a pair (vision_text or audio_text)"
    if (settings.objective == "joint") != (args.pair == "joint"):
        raise ConfigError(
            f"stage1.objective is {settings.objective!r} but --pair {args.pair}: that objective "
            f"trains {expected}"
        )
    specs = {"text": args.text_encoder}
    if args.vision_encoder is not None:
        specs["visual"] = args.vision_encoder
    if args.audio_encoder is not None:
        specs["audio"] = args.audio_encoder
    align(
        args.pair,
        _inputs(args),
        specs,
        settings,
        extract_settings(args.extract),
        resolve_device(args.device),
        args.checkpoint,
        args.log,
    )
    return 0

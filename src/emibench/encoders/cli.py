"""``emibench make-tiny-models``: the demo's tiny random-initialised encoders."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "make-tiny-models",
        help="write the demo's tiny random-initialised encoders as local model folders",
        description="Create <out-dir>/<role> for each model of the spec: clip (open_clip local-dir "
        "format), wav2vec2 (transformers format with its feature extractor), wav2vec2_emotion (a "
        "Wav2Vec2 with a 3-output regression head in the audeering checkpoint's format) or vit (a "
        "transformers ViT with its image processor), random-initialised with a fixed seed, so the "
        "demo loads them through the same registry code as the published models.",
    )
    parser.add_argument("--out-dir", required=True, help="folder that receives one folder per role")
    parser.add_argument(
        "--spec",
        type=json_arg,
        default={},
        help='JSON: config encoders.tiny, {"seed": 0, "models": {role: {"kind": "clip", sizes...}}}; '
        "each model is written to <out-dir>/<role>",
    )
    parser.set_defaults(func=_make_tiny_models, threads=1)


def _make_tiny_models(args: argparse.Namespace) -> int:
    from emibench.encoders.tiny import make_tiny_models

    paths = make_tiny_models(args.out_dir, args.spec)
    log.info("done: tiny models %s", ", ".join(str(p) for p in paths.values()))
    return 0

"""``emibench make-tiny-models``: the demo's tiny random-initialised CLIP and Wav2Vec2."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "make-tiny-models",
        help="write the demo's tiny random-initialised CLIP and Wav2Vec2 as local model folders",
        description="Create <out-dir>/clip (open_clip local-dir format) and <out-dir>/wav2vec2 "
        "(transformers format with its feature extractor), random-initialised with a fixed seed, so "
        "the demo loads them through the same registry code as the paper's models.",
    )
    parser.add_argument("--out-dir", required=True, help="folder that receives clip/ and wav2vec2/")
    parser.add_argument(
        "--spec",
        type=json_arg,
        default={},
        help='JSON: {"seed": 0, "clip": {image_size, patch_size, width, layers, heads, embed_dim}, '
        '"wav2vec2": {hidden_size, layers, heads, intermediate_size, conv_dim}} (config encoders.tiny)',
    )
    parser.set_defaults(func=_make_tiny_models, threads=1)


def _make_tiny_models(args: argparse.Namespace) -> int:
    from emibench.encoders.tiny import make_tiny_models

    paths = make_tiny_models(args.out_dir, args.spec)
    log.info("done: tiny models %s", ", ".join(str(p) for p in paths.values()))
    return 0

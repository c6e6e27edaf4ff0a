"""``emibench make-tiny-models``: the demo's tiny random-initialised CLIP and Wav2Vec2."""

from __future__ import annotations

import argparse
import json
import logging
import time

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
        default="{}",
        help='JSON: {"seed": 0, "clip": {image_size, patch_size, width, layers, heads, embed_dim}, '
        '"wav2vec2": {hidden_size, layers, heads, intermediate_size, conv_dim}} (config encoders.tiny)',
    )
    parser.set_defaults(func=_make_tiny_models)


def _make_tiny_models(args: argparse.Namespace) -> int:
    import torch

    from emibench.encoders.tiny import make_tiny_models

    torch.set_num_threads(1)
    start = time.perf_counter()
    paths = make_tiny_models(args.out_dir, json.loads(args.spec))
    log.info(
        "done: tiny models %s in %.1f s",
        ", ".join(str(p) for p in paths.values()),
        time.perf_counter() - start,
    )
    return 0

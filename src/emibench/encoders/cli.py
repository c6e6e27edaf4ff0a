"""``emibench make-tiny-models`` (the demo's tiny CLIP and Wav2Vec2) and ``make-rehearsal-models``
(random-initialised models of the published architectures in a hub cache, for the rehearsal)."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import add_compute_options, json_arg

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

    parser = sub.add_parser(
        "make-rehearsal-models",
        help="write RANDOM-initialised models of the paper's and TAEMI's published architectures "
        "into a Hugging Face hub cache (for an offline rehearsal; never real models)",
        description="Create DIR/hub/models--ORG--NAME/{snapshots/<revision>,refs/main} for each "
        "model, with the published architecture, tokenizer and preprocessing and weights drawn "
        "from a fixed seed, plus DIR/README.md saying they are random. With HF_HOME=DIR and "
        "HF_HUB_OFFLINE=1 the real config loads them by hub name. Models already written with the "
        "same revision are skipped.",
    )
    parser.add_argument("dir", help="the cache home (what HF_HOME will point at)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of: " + ", ".join(_rehearsal_keys()) + " (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument(
        "--overrides",
        type=json_arg,
        default={},
        help='JSON: {"<model key>": {<architecture values laid over the published ones>}} '
        "(tests use it for tiny widths)",
    )
    add_compute_options(parser, device=False)
    parser.set_defaults(func=_make_rehearsal_models)


def _make_tiny_models(args: argparse.Namespace) -> int:
    from emibench.encoders.tiny import make_tiny_models

    paths = make_tiny_models(args.out_dir, args.spec)
    log.info("done: tiny models %s", ", ".join(str(p) for p in paths.values()))
    return 0


def _rehearsal_keys() -> tuple[str, ...]:
    from emibench.encoders.rehearsal import KEYS

    return KEYS


def _make_rehearsal_models(args: argparse.Namespace) -> int:
    from emibench.encoders.rehearsal import make_rehearsal_models

    only = args.only.split(",") if args.only else None
    entries = make_rehearsal_models(args.dir, only, seed=args.seed, overrides=args.overrides)
    total = sum(e["bytes"] for e in entries.values())
    log.info("done: %d rehearsal models (%.2f GB) in %s/hub", len(entries), total / 1e9, args.dir)
    return 0

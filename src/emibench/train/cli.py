"""Subcommands of this stage (see emibench.cli): ``emibench train``."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "train",
        help="train the Stage II runs of one (system, variant), one per seed",
        description="Train a DSCMN, TAEMI, baseline or plugin model on stored features (TAEMI end "
        "to end: on raw audio and transcripts too) with early "
        "stopping on valid mean Pearson, once per seed; write each run folder: metrics.json, "
        "predictions for every clip of every split, train_log.tsv, model.pt, log.txt (and fusion "
        "weights for DSCMN).",
    )
    p.add_argument("--system", required=True, help="system name (e.g. dscmn)")
    p.add_argument("--variant", required=True, help="variant name (e.g. VAT_stage1)")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        required=True,
        help="seeds, one run each (python, numpy, torch)",
    )
    p.add_argument(
        "--out-dirs", nargs="+", required=True, help="the run folder of each seed, in --seeds order"
    )
    p.add_argument(
        "--config",
        type=json_arg,
        required=True,
        help='resolved run config as JSON: {"features", "modalities", "model": {...}, "train": {...}}',
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv (ids, splits, labels)")
    p.add_argument(
        "--stores",
        nargs="+",
        action="append",
        required=True,
        metavar="SEED KEY PATH",
        help="a seed's files of one store key, every split: V, A or T (feature shards of that "
        "modality), wave (audio stores) or text (transcript tables), for a model that encodes "
        "audio or text itself: --stores 0 V visual/train/00.h5 ...; repeat per seed and key",
    )
    p.add_argument("--test-labels", default="", help="test labels CSV; left out when hidden")
    add_compute_options(p)
    p.set_defaults(func=run_train)


def parse_stores(groups: list[list[str]], seeds: list[int]) -> dict[int, dict[str, list[str]]]:
    """``--stores`` groups -> {seed: {store key: paths}}; every seed needs at least one group."""
    from emibench.models.inputs import STORE_KEYS
    from emibench.settings import ConfigError

    stores: dict[int, dict[str, list[str]]] = {seed: {} for seed in seeds}
    for group in groups:
        if len(group) < 3 or not group[0].isdigit() or group[1] not in STORE_KEYS:
            raise ConfigError(
                f"--stores {' '.join(group[:3])} ...: expected SEED KEY PATH... with KEY one of "
                f"{' '.join(STORE_KEYS)}"
            )
        seed, modality = int(group[0]), group[1]
        if seed not in stores:
            raise ConfigError(f"--stores names seed {seed}, which is not in --seeds {seeds}")
        stores[seed].setdefault(modality, []).extend(group[2:])
    lacking = [seed for seed, given in stores.items() if not given]
    if lacking:
        raise ConfigError(f"no --stores for seed(s) {lacking}")
    return stores


def run_train(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.settings import ConfigError
    from emibench.train.trainer import RunSpec, train_runs

    if len(args.seeds) != len(args.out_dirs):
        raise ConfigError(f"{len(args.seeds)} --seeds but {len(args.out_dirs)} --out-dirs")
    specs = [RunSpec.from_config(args.system, args.variant, s, args.config) for s in args.seeds]
    train_runs(
        specs,
        args.out_dirs,
        parse_stores(args.stores, args.seeds),
        args.manifest,
        args.test_labels or None,
        resolve_device(args.device),
    )
    return 0

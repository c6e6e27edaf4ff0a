"""Subcommands of this stage (see emibench.cli): ``emibench train``."""

from __future__ import annotations

import argparse
import logging

from emibench.settings import ConfigError
from emibench.steps import (
    add_compute_options,
    add_members_option,
    add_seed_runs,
    json_arg,
    seed_groups,
    seed_runs,
)

log = logging.getLogger(__name__)


def _run_arguments(p: argparse.ArgumentParser, model: str) -> None:
    """What a train or stack job is given: names, seeds and folders, config, data, compute."""
    p.add_argument("--system", required=True, help="system name (e.g. dscmn)")
    p.add_argument("--variant", required=True, help="variant name (e.g. VAT_stage1)")
    add_seed_runs(p)
    p.add_argument(
        "--config",
        type=json_arg,
        required=True,
        help=f'resolved run config as JSON: {{"features", "modalities", "{model}": {{...}}, "train": {{...}}}}',
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
    _run_arguments(p, "model")
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "stack",
        help="train late-fusion regressors on member runs' predictions, one per seed",
        description="Late fusion (docs/peers.md): for each seed, read that seed's member runs' "
        "predictions for every clip and the presence of each modality, train a small regressor with "
        "modality dropout (cross-fitted on the valid split by default, so no valid clip is predicted "
        "by a regressor that saw it), and write a run folder like `emibench train` does.",
    )
    _run_arguments(p, "stack")
    add_members_option(p)
    p.set_defaults(func=run_stack)

    p = sub.add_parser(
        "predict",
        help="trained runs predict splits from other stores (a robustness condition's), no training",
        description="Each --run folder's model (model.pt, with its train-split standardisation and "
        "the settings in metrics.json) predicts the clips of --splits from the stores given now; "
        "each --fuse run averages its members' new predictions. Every output folder gets "
        "predictions_<split>.csv, fusion_weights_<split>.csv (DSCMN) and metrics.json (scores "
        "of the labelled splits, the condition and its ops). On the clean stores a run "
        "reproduces its own predictions.",
    )
    p.add_argument("--condition", required=True, help="the condition's name (for metrics.json)")
    p.add_argument(
        "--spec", type=json_arg, default=[], help="the condition's ops as JSON (for metrics.json)"
    )
    p.add_argument(
        "--splits", nargs="+", required=True, choices=["train", "valid", "test"], help="splits"
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv (ids, splits, labels)")
    p.add_argument("--test-labels", default="", help="test labels CSV; left out when hidden")
    p.add_argument(
        "--stores",
        nargs="+",
        action="append",
        default=[],
        metavar="GROUP KEY PATH",
        help="a store group: its key (V, A, T, ...) and shard paths of --splits; "
        "--stores 0 V features/visual/valid/00.h5 ...; --run names groups by number",
    )
    p.add_argument(
        "--run",
        nargs="+",
        action="append",
        default=[],
        metavar="RUN_DIR OUT_DIR GROUP",
        help="a trained run folder, its output folder and the store groups it reads",
    )
    p.add_argument(
        "--fuse",
        nargs="+",
        action="append",
        default=[],
        metavar="RUN_DIR OUT_DIR MEMBER_OUT",
        help="a fused run folder, its output folder and its members' output folders",
    )
    p.add_argument(
        "--stack",
        nargs="+",
        action="append",
        default=[],
        metavar="RUN_DIR OUT_DIR GROUPS MEMBER_OUT",
        help="a late-fusion run folder, its output folder, the store groups of its modalities "
        "(comma-separated numbers) and its members' output folders",
    )
    p.add_argument(
        "--skip",
        nargs="+",
        action="append",
        default=[],
        metavar="RUN_DIR OUT_DIR REASON",
        help="a run not evaluated under the condition: its output folder gets metrics.json with "
        "the reason and no scores",
    )
    add_compute_options(p)
    p.set_defaults(func=run_predict)


def parse_stores(groups: list[list[str]], seeds: list[int]) -> dict[int, dict[str, list[str]]]:
    """``--stores`` groups -> {seed: {store key: paths}}; every seed needs at least one group."""
    from emibench.models.inputs import STORE_KEYS

    seed_groups(groups, seeds, "--stores")  # every group names a seed of --seeds, every seed one
    stores: dict[int, dict[str, list[str]]] = {seed: {} for seed in seeds}
    for group in groups:
        if len(group) < 3 or group[1] not in STORE_KEYS:
            raise ConfigError(
                f"--stores {' '.join(group[:3])} ...: expected SEED KEY PATH... with KEY one of "
                f"{' '.join(STORE_KEYS)}"
            )
        stores[int(group[0])].setdefault(group[1], []).extend(group[2:])
    return stores


def run_train(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.train.trainer import RunSpec, train_runs

    runs = seed_runs(args)
    specs = [RunSpec.from_config(args.system, args.variant, s, args.config) for s, _ in runs]
    train_runs(
        specs,
        [out for _, out in runs],
        parse_stores(args.stores, args.seeds),
        args.manifest,
        args.test_labels or None,
        resolve_device(args.device),
    )
    return 0


def run_stack(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.train.stacking import StackSpec, stack_run

    stores = parse_stores(args.stores, args.seeds)
    members = seed_groups(args.members, args.seeds, "--members")
    for seed, out_dir in seed_runs(args):
        spec = StackSpec.from_config(args.system, args.variant, seed, args.config)
        metrics = stack_run(
            spec,
            members[seed],
            args.manifest,
            stores[seed],
            out_dir,
            resolve_device(args.device),
            args.test_labels or None,
        )
        log.info(
            "done: %s/%s seed %d, late fusion of %d runs, valid mean Pearson %.4f",
            spec.system,
            spec.variant,
            seed,
            len(members[seed]),
            metrics["splits"]["valid"]["mean_pearson"],
        )
    return 0


def parse_predict_jobs(stores: list[list[str]], runs: list[list[str]]) -> list:
    """``--stores`` groups and ``--run`` entries (RUN_DIR OUT_DIR GROUP...) -> PredictJobs
    (each run's {key: paths})."""
    from emibench.settings import ConfigError
    from emibench.train.predict import PredictJob

    groups: dict[str, tuple[str, list[str]]] = {}
    for group in stores:
        if len(group) < 3:
            raise ConfigError(f"--stores {' '.join(group)}: expected GROUP KEY PATH...")
        if group[0] in groups:
            raise ConfigError(f"--stores group {group[0]} given twice")
        groups[group[0]] = (group[1], group[2:])
    jobs = []
    for entry in runs:
        if len(entry) < 3:
            raise ConfigError(f"--run {' '.join(entry)}: expected RUN_DIR OUT_DIR GROUP...")
        unknown = [g for g in entry[2:] if g not in groups]
        if unknown:
            raise ConfigError(f"--run {entry[0]}: unknown store group(s) {unknown}")
        chosen = [groups[g] for g in entry[2:]]
        keys = [key for key, _ in chosen]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"--run {entry[0]}: two store groups of the same key {keys}")
        jobs.append(PredictJob(entry[0], entry[1], dict(chosen)))
    return jobs


def run_predict(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.settings import ConfigError
    from emibench.train.predict import predict_runs, skip_run

    if not (args.run or args.fuse or args.stack or args.skip):
        raise ConfigError("predict: nothing to do; give --run, --fuse, --stack or --skip")
    for entry in args.skip:
        if len(entry) < 3:
            raise ConfigError(f"--skip {' '.join(entry)}: expected RUN_DIR OUT_DIR REASON...")
        skip_run(entry[0], entry[1], args.condition, args.spec, " ".join(entry[2:]))
    fused = []
    for entry in args.fuse:
        if len(entry) < 3:
            raise ConfigError(f"--fuse {' '.join(entry)}: expected RUN_DIR OUT_DIR MEMBER_OUT...")
        fused.append((entry[0], entry[1], entry[2:]))
    stacked = []
    for entry in args.stack:
        if len(entry) < 4:
            raise ConfigError(
                f"--stack {' '.join(entry)}: expected RUN_DIR OUT_DIR GROUPS MEMBER_OUT..."
            )
        job = parse_predict_jobs(args.stores, [entry[:2] + entry[2].split(",")])[0]
        stacked.append((job, entry[3:]))
    results = predict_runs(
        parse_predict_jobs(args.stores, args.run),
        fused,
        stacked,
        tuple(args.splits),
        args.manifest,
        args.test_labels or None,
        args.condition,
        args.spec,
        resolve_device(args.device),
    )
    log.info(
        "done: %d runs predicted %s under %s; 0 failed",
        len(results),
        " ".join(args.splits),
        args.condition,
    )
    return 0

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
        help="train one Stage II run (system, variant, seed) and write its run folder",
        description="Train a DSCMN, TAEMI or baseline model on stored features with early stopping on "
        "valid mean Pearson; write metrics.json, predictions for every clip of every split, "
        "train_log.tsv, model.pt (and fusion weights for DSCMN) into --out-dir.",
    )
    p.add_argument("--system", required=True, help="system name (e.g. dscmn)")
    p.add_argument("--variant", required=True, help="variant name (e.g. VAT_stage1)")
    p.add_argument("--seed", type=int, required=True, help="seed for python, numpy and torch")
    p.add_argument(
        "--config",
        type=json_arg,
        required=True,
        help='resolved run config as JSON: {"features", "modalities", "model": {...}, "train": {...}}',
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv (ids, splits, labels)")
    p.add_argument("--visual", nargs="*", default=[], help="visual feature shards of every split")
    p.add_argument("--audio", nargs="*", default=[], help="audio feature shards of every split")
    p.add_argument("--text", nargs="*", default=[], help="text feature shards of every split")
    p.add_argument("--test-labels", default="", help="test labels CSV; empty when hidden")
    p.add_argument("--out-dir", required=True, help="the run folder to write")
    add_compute_options(p)
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "stack",
        help="train a late-fusion regressor on member runs' predictions (one seed)",
        description="Late fusion (docs/peers.md): read the member runs' predictions for every clip and "
        "the presence of each modality, train a small regressor with modality dropout (cross-fitted on "
        "the valid split by default, so no valid clip is predicted by a regressor that saw it), and "
        "write a run folder like `emibench train` does.",
    )
    p.add_argument("--system", required=True, help="system name (e.g. late_fusion)")
    p.add_argument("--variant", required=True, help="variant name (e.g. VAT_stage1)")
    p.add_argument("--seed", type=int, required=True, help="seed shared with the members")
    p.add_argument(
        "--config",
        type=json_arg,
        required=True,
        help='resolved run config as JSON: {"features", "modalities", "stack": {...}, "train": {...}}',
    )
    p.add_argument("--members", nargs="+", required=True, help="member run folders (same seed)")
    p.add_argument("--manifest", required=True, help="manifest.tsv (ids, splits, labels)")
    for flag, what in (("--visual", "visual"), ("--audio", "audio"), ("--text", "text")):
        p.add_argument(flag, nargs="*", default=[], help=f"{what} feature shards (presence only)")
    p.add_argument("--test-labels", default="", help="test labels CSV; empty when hidden")
    p.add_argument("--out-dir", required=True, help="the run folder to write")
    add_compute_options(p)
    p.set_defaults(func=run_stack)


def run_train(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.logs import timed
    from emibench.models.inputs import parse_modalities
    from emibench.train.data import load_run_data
    from emibench.train.trainer import RunSpec, train_run

    spec = RunSpec.from_config(args.system, args.variant, args.seed, args.config)
    given = {"V": args.visual, "A": args.audio, "T": args.text}
    used = parse_modalities(spec.modalities)
    unexpected = [m for m, paths in given.items() if paths and m not in used]
    lacking = [m for m in used if not given[m]]
    if lacking or unexpected:
        raise SystemExit(
            f"{spec.system}/{spec.variant} uses modalities {spec.modalities}: stores lacking for {lacking}, given but unused for {unexpected}"
        )
    device = resolve_device(args.device)
    with timed(log, "loading features"):
        data = load_run_data(
            args.manifest,
            {m: given[m] for m in used},
            args.test_labels,
            spec.train.max_steps,
            spec.train.standardize,
        )
    metrics = train_run(spec, data, args.out_dir, device)
    valid = metrics["splits"]["valid"]["mean_pearson"]
    test = metrics["splits"].get("test", {}).get("mean_pearson")
    log.info(
        "done: %s/%s seed %d, valid mean Pearson %.4f%s, best epoch %d of %d",
        spec.system,
        spec.variant,
        spec.seed,
        valid,
        "" if test is None else f", test {test:.4f}",
        metrics["best_epoch"],
        metrics["epochs_run"],
    )
    return 0


def run_stack(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.models.inputs import parse_modalities
    from emibench.train.stacking import StackSpec, stack_run

    spec = StackSpec.from_config(args.system, args.variant, args.seed, args.config)
    given = {"V": args.visual, "A": args.audio, "T": args.text}
    used = parse_modalities(spec.modalities)
    lacking = [m for m in used if not given[m]]
    if lacking:
        raise SystemExit(
            f"{spec.system}/{spec.variant} uses modalities {spec.modalities}: stores lacking for {lacking}"
        )
    metrics = stack_run(
        spec,
        args.members,
        args.manifest,
        {m: given[m] for m in used},
        args.out_dir,
        resolve_device(args.device),
        args.test_labels,
    )
    log.info(
        "done: %s/%s seed %d, late fusion of %d runs, valid mean Pearson %.4f",
        spec.system,
        spec.variant,
        spec.seed,
        len(args.members),
        metrics["splits"]["valid"]["mean_pearson"],
    )
    return 0

"""Subcommands of this stage (see emibench.cli): ``emibench fuse`` and ``emibench submit``."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "fuse",
        help="average member runs' predictions into a run folder (baseline fusion)",
        description="Late fusion without training: the per-clip mean of the members' predictions for "
        "every split, written as a run folder (metrics.json, predictions, empty train_log.tsv, model.pt).",
    )
    p.add_argument("--members", nargs="+", required=True, help="run folders to average (same seed)")
    p.add_argument("--system", required=True, help="system name for metrics.json")
    p.add_argument("--variant", required=True, help="variant name for metrics.json")
    p.add_argument("--seed", type=int, required=True, help="seed shared by the members")
    p.add_argument(
        "--features", required=True, help="feature set of the members (official, stage1)"
    )
    p.add_argument(
        "--modalities", required=True, help="modalities the members use together (e.g. VA)"
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv")
    p.add_argument("--test-labels", default="", help="test labels CSV; empty when hidden")
    p.add_argument("--out-dir", required=True, help="the run folder to write")
    p.set_defaults(func=run_fuse)

    p = sub.add_parser(
        "submit",
        help="write a system's ABAW test submission from its best variant, averaged over seeds",
        description="Pick the variant with the best valid mean Pearson averaged over seeds among the "
        "given runs, average its test predictions over seeds, and write the ABAW CSV (Filename, six "
        "emotions; every test clip, sorted, clipped to [0, 1]) plus a JSON naming the choice.",
    )
    p.add_argument(
        "--runs", nargs="+", required=True, help="run folders of one system (variants x seeds)"
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv (the test clips)")
    p.add_argument("--out", required=True, help="submission CSV to write")
    p.add_argument("--info", default="", help="JSON to write: chosen variant, runs, valid scores")
    p.set_defaults(func=run_submit)


def run_fuse(args: argparse.Namespace) -> int:
    from emibench.evaluate.fusion import fuse_runs

    names = {
        "system": args.system,
        "variant": args.variant,
        "seed": args.seed,
        "features": args.features,
        "modalities": args.modalities,
    }
    metrics = fuse_runs(args.members, args.out_dir, names, args.manifest, args.test_labels)
    log.info(
        "done: fused %d runs into %s/%s seed %d, valid mean Pearson %.4f",
        len(args.members),
        args.system,
        args.variant,
        args.seed,
        metrics["splits"]["valid"]["mean_pearson"],
    )
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from emibench.evaluate.submission import write_submission

    info = write_submission(args.runs, args.manifest, args.out, args.info or None)
    log.info(
        "done: %s submission from variant %s (%d seeds), %d test clips (%d broken)",
        info["system"],
        info["variant"],
        len(info["runs"]),
        info["n_test_clips"],
        info["n_broken_test_clips"],
    )
    return 0

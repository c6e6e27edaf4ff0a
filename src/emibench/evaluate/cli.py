"""Subcommands of this stage (see emibench.cli): ``emibench fuse`` and ``emibench submit``."""

from __future__ import annotations

import argparse
import logging

from emibench.steps import add_members_option, add_seed_runs, seed_groups, seed_runs

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "fuse",
        help="average member runs' predictions into run folders (baseline fusion), one per seed",
        description="Late fusion without training: for each seed, the per-clip mean of that seed's "
        "member runs' predictions for every split, written as a run folder (metrics.json, "
        "predictions, members.json).",
    )
    p.add_argument("--system", required=True, help="system name for metrics.json")
    p.add_argument("--variant", required=True, help="variant name for metrics.json")
    add_seed_runs(p)
    add_members_option(p)
    p.add_argument(
        "--features", required=True, help="feature set of the members (official, frozen, stage1)"
    )
    p.add_argument(
        "--modalities", required=True, help="modalities the members use together (e.g. VA)"
    )
    p.add_argument("--manifest", required=True, help="manifest.tsv")
    p.add_argument("--test-labels", default="", help="test labels CSV; left out when hidden")
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

    members = seed_groups(args.members, args.seeds, "--members")
    for seed, out_dir in seed_runs(args):
        names = {
            "system": args.system,
            "variant": args.variant,
            "seed": seed,
            "features": args.features,
            "modalities": args.modalities,
        }
        metrics = fuse_runs(members[seed], out_dir, names, args.manifest, args.test_labels or None)
        log.info(
            "done: fused %d runs into %s/%s seed %d, valid mean Pearson %.4f",
            len(members[seed]),
            args.system,
            args.variant,
            seed,
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

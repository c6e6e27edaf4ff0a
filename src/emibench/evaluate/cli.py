"""Subcommands of this stage (see emibench.cli): ``emibench fuse`` and ``emibench submit``."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "fuse",
        help="average member runs' predictions into run folders (baseline fusion), one per seed",
        description="Late fusion without training: for each run of the job spec "
        "(emibench.plan.jobs.RunsJob), the per-clip mean of its member runs' predictions for "
        "every split, written as a run folder (metrics.json, predictions, members.json).",
    )
    p.add_argument(
        "--job", required=True, help="the job spec as JSON (the workflow's plan writes it)"
    )
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
    from emibench.evaluate.fusion import fuse_run
    from emibench.plan.jobs import RunsJob, load_job

    job = load_job(RunsJob, args.job)
    for run in job.runs:
        names = {
            "system": run.system,
            "variant": run.variant,
            "seed": run.seed,
            "features": run.config["features"],
            "modalities": run.config["modalities"],
        }
        record = fuse_run(run.members, run.out_dir, names, job.manifest, job.test_labels or None)
        log.info(
            "done: fused %d runs into %s/%s seed %d, valid mean Pearson %.4f",
            len(run.members),
            run.system,
            run.variant,
            run.seed,
            record.splits["valid"].mean_pearson,
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

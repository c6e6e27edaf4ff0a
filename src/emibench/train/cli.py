"""Subcommands of this stage (see emibench.cli): ``emibench train``, ``stack`` and ``predict``.

Each takes one job spec (``--job``, JSON of :mod:`emibench.plan.jobs`) that the workflow's plan
writes: every path it reads and writes, every run's resolved config.
"""

from __future__ import annotations

import argparse
import logging

from emibench.steps import add_compute_options

log = logging.getLogger(__name__)


def _job_option(p: argparse.ArgumentParser, spec: str) -> None:
    p.add_argument(
        "--job", required=True, help=f"the job spec as JSON ({spec}; the workflow's plan writes it)"
    )
    add_compute_options(p)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "train",
        help="train the Stage II runs of one (system, variant), one per seed",
        description="Train a DSCMN, TAEMI, baseline or plugin model on stored features (TAEMI end "
        "to end: on raw audio and transcripts too) with early stopping on valid mean Pearson, "
        "once per run of the job; write each run folder: metrics.json, predictions for every clip "
        "of every split, fusion weights, train_log.tsv, model.pt, log.txt.",
    )
    _job_option(p, "emibench.plan.jobs.RunsJob")
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "stack",
        help="train late-fusion regressors on member runs' predictions, one per seed",
        description="Late fusion (docs/peers.md): for each run of the job, read its member runs' "
        "predictions for every clip and the presence of each modality, train a small regressor with "
        "modality dropout (cross-fitted on the valid split by default, so no valid clip is predicted "
        "by a regressor that saw it), and write a run folder like `emibench train` does.",
    )
    _job_option(p, "emibench.plan.jobs.RunsJob")
    p.set_defaults(func=run_stack)

    p = sub.add_parser(
        "predict",
        help="every run predicts a robustness condition's splits from its stores, no training",
        description="Each trained run of the job (model.pt, with its train-split standardisation, "
        "and the settings of its record) predicts the clips of the job's splits from the stores "
        "given, in the precision it was trained with; fused runs average their members' new "
        "predictions, late-fusion runs apply their fold regressors to them; runs the condition "
        "cannot change get a record saying why. Each output folder gets predictions_<split>.csv, "
        "fusion_weights_<split>.csv (trained runs) and metrics.json. On the clean stores a run "
        "reproduces its own predictions.",
    )
    _job_option(p, "emibench.plan.jobs.PredictJob")
    p.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.plan.jobs import RunsJob, load_job
    from emibench.train.trainer import train_runs

    job = load_job(RunsJob, args.job)
    train_runs(job.runs, job.manifest, job.test_labels or None, resolve_device(args.device))
    return 0


def run_stack(args: argparse.Namespace) -> int:
    from emibench.devices import resolve_device
    from emibench.plan.jobs import RunsJob, load_job
    from emibench.train.stacking import StackSpec, stack_run

    job = load_job(RunsJob, args.job)
    for run in job.runs:
        spec = StackSpec.from_config(run.system, run.variant, run.seed, run.config)
        stack_run(
            spec,
            run.members,
            job.manifest,
            run.stores,
            run.out_dir,
            resolve_device(args.device),
            job.test_labels or None,
        )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from emibench.data.tables import write_table
    from emibench.devices import resolve_device
    from emibench.plan.jobs import PredictJob, load_job
    from emibench.report.collect import collect_runs
    from emibench.train.predict import predict_runs

    job = load_job(PredictJob, args.job)
    results = predict_runs(job, resolve_device(args.device))
    table = collect_runs([f"{run.out_dir}/metrics.json" for run in job.runs], conditions=True)
    write_table(table, job.results)
    log.info(
        "done: %d runs under %s (%s); 0 failed", len(results), job.condition, " ".join(job.splits)
    )
    return 0

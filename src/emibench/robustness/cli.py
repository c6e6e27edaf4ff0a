"""``emibench corrupt``: one store of a robustness condition for one split, shard by shard."""

from __future__ import annotations

import argparse
import logging

from emibench.settings import ConfigError
from emibench.steps import add_compute_options

log = logging.getLogger(__name__)

STORES = ("frames", "audio", "transcripts")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``corrupt`` to ``sub``."""
    parser = sub.add_parser(
        "corrupt",
        help="apply one robustness condition to the frames, audio or transcripts of a split",
        description="Write a condition's store of one split from the clean one, shard by shard, "
        "into one folder (each shard's file, then index.json), as a job spec "
        "(emibench.plan.jobs.CorruptJob) names them: vision ops (occlude, blur, low_light, "
        "drop_frames) on the frames store, audio ops (noise, remove_audio) on the audio store, "
        "remove_text on the transcript tables; every clip keeps an entry. Everything is fixed by "
        "the job's seed, the condition name and the clip id (docs/robustness.md).",
    )
    parser.add_argument(
        "--job", required=True, help="the job spec as JSON (the workflow's plan writes it)"
    )
    add_compute_options(parser, device=False)
    parser.set_defaults(func=run_corrupt)


def run_corrupt(args: argparse.Namespace) -> int:
    import cv2

    from emibench.data.store import write_store_index
    from emibench.plan.jobs import CorruptJob, load_job
    from emibench.robustness.corrupt import corrupt_audio, corrupt_frames, corrupt_transcripts
    from emibench.robustness.spec import parse_condition

    cv2.setNumThreads(max(1, args.threads))
    job = load_job(CorruptJob, args.job)
    condition = parse_condition(job.condition, job.spec)
    if job.seed < 0:
        raise ConfigError(f"corrupt: the seed must be non-negative, got {job.seed}")
    if job.store not in condition.corrupts:
        raise ConfigError(
            f"corrupt: condition {condition.name} changes {list(condition.corrupts)}, not the "
            f"{job.store} store (its transcripts under asr come from `emibench transcribe`)"
        )
    if not len(job.shards) == len(job.inputs) == len(job.output.files):
        raise ConfigError(
            f"corrupt: {len(job.shards)} shards, {len(job.inputs)} inputs and "
            f"{len(job.output.files)} outputs; give one of each per shard"
        )
    log.info(
        "corrupt %s %s %s, %d shards: %s (seed %d)",
        condition.name,
        job.store,
        job.split,
        len(job.shards),
        condition.to_json(),
        job.seed,
    )
    for shard, src, out in zip(job.shards, job.inputs, job.output.files):
        if job.store == "transcripts":
            table = corrupt_transcripts(condition, src, out)
            log.info(
                "corrupt[%s] transcripts %s/%s: %d rows, status %s",
                condition.name,
                job.split,
                shard,
                len(table),
                table["status"].value_counts().to_dict(),
            )
            continue
        corrupt = corrupt_frames if job.store == "frames" else corrupt_audio
        log.info(corrupt(condition, job.seed, src, out, job.split, int(shard)).summary())
    write_store_index(
        job.output.folder, job.output.files, condition=condition.name, split=job.split
    )
    log.info("done: %s %s of %s, %d shards", condition.name, job.store, job.split, len(job.shards))
    return 0

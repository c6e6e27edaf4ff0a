"""Job specs for tests that call a step's CLI as the workflow does (``--job``, JSON)."""

from __future__ import annotations

from emibench.plan.jobs import RunJob, RunsJob, to_json


def run_job(system, variant, seed, out_dir, config, stores=None, members=()) -> RunJob:
    """One run: ``stores`` {key: paths}, ``members`` run folders; paths may be Path objects."""
    return RunJob(
        system,
        variant,
        seed,
        str(out_dir),
        config,
        {key: [str(p) for p in paths] for key, paths in (stores or {}).items()},
        [str(m) for m in members],
    )


def runs_argv(command: str, runs: list[RunJob], manifest, test_labels="", device=True) -> list[str]:
    """``emibench <command> --job ...`` argv of a train, stack or fuse job."""
    job = RunsJob(str(manifest), str(test_labels or ""), runs)
    return [command, "--job", to_json(job), *(["--device", "cpu"] if device else [])]


def job_argv(command: str, job, device=True) -> list[str]:
    return [command, "--job", to_json(job), *(["--device", "cpu"] if device else [])]

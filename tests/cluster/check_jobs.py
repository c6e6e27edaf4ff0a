"""Check that a Snakemake run went through SLURM, from slurm's and Snakemake's records.

``--sacct``: ``sacct -X -a -n -P -o JobID,Partition,State,Elapsed,NCPUS,ReqMem,AllocTRES,Comment``
(slurm's accounting; the plugin's comment is ``rule_<rule or group>[_wildcards_<values>]``).
``--squeue``: ``squeue -h -t all -O "JobID:|,State:"``, the controller's own list.
``--log``: Snakemake's output. ``--expected``: the DAG's job count, ``all`` left out.
``--cancelled``: the SLURM id cancelled with scancel during the run.

Passes when every SLURM job COMPLETED but the cancelled one, which was resubmitted and then
COMPLETED; squeue agrees with sacct; Snakemake logged one submission per SLURM job, finished
every job of the DAG and ran none but ``all`` locally (in cluster mode every other job is
submitted); and the GPU rules ran on the gpu partition with a GPU.
"""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# transcribe asks for a GPU only with Whisper; the demo transcribes with PocketSphinx.
GPU_RULES = re.compile(
    r"^rule_(features\w*|stage1|train|robustness_features\w*|robustness_predict)(_wildcards_|$)"
)
# Snakemake prints the logs of failed jobs (the cancelled one) between two rules of "=".
EMBEDDED_LOG = re.compile(r"^Logfile [^\n]*:\n={80}\n.*?^={80}$", re.MULTILINE | re.DOTALL)
FIELDS = ["id", "partition", "state", "elapsed", "cpus", "memory", "tres", "comment"]


def read_jobs(path):
    """sacct's rows; a state such as ``CANCELLED by 0`` is kept as its first word."""
    jobs = []
    for line in Path(path).read_text().splitlines():
        job = dict(zip(FIELDS, line.split("|", len(FIELDS) - 1)))
        job["state"] = job["state"].split()[0]
        jobs.append(job)
    return jobs


def read_squeue(path):
    return dict(line.split("|")[:2] for line in Path(path).read_text().splitlines())


def print_table(jobs):
    widths = {key: max(len(key), *(len(job[key]) for job in jobs)) for key in FIELDS}
    for row in [dict(zip(FIELDS, (key.upper() for key in FIELDS))), *jobs]:
        print("  ".join(row[key].ljust(widths[key]) for key in FIELDS).rstrip())


def check(jobs, squeue, log, expected, cancelled):
    problems = []
    by_id = {job["id"]: job for job in jobs}
    if cancelled not in by_id or by_id[cancelled]["state"] != "CANCELLED":
        problems.append(f"job {cancelled} is not listed as CANCELLED")
    else:
        again = [
            job
            for job in jobs
            if int(job["id"]) > int(cancelled)
            and job["comment"] == by_id[cancelled]["comment"]
            and job["state"] == "COMPLETED"
        ]
        if not again:
            problems.append(f"the cancelled job {cancelled} was not resubmitted and completed")
        else:
            print(
                f"cancelled {cancelled} ({by_id[cancelled]['comment']}), retried as {again[0]['id']}"
            )
    for job in jobs:
        if job["id"] != cancelled and job["state"] != "COMPLETED":
            problems.append(f"job {job['id']} ({job['comment']}) is {job['state']}")
        if GPU_RULES.match(job["comment"]) and (
            job["partition"] != "gpu" or "gres/gpu=" not in job["tres"]
        ):
            problems.append(f"GPU job {job['id']} ({job['comment']}) ran without a GPU")
    if squeue != {job["id"]: job["state"] for job in jobs}:
        problems.append("sacct and squeue disagree")

    log = EMBEDDED_LOG.sub("", log)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    if sorted(submitted, key=int) != sorted(by_id, key=int):
        problems.append(f"Snakemake logged {len(submitted)} submissions, slurm lists {len(jobs)}")
    local = set(re.findall(r"^localrule (\w+):", log, re.MULTILINE))
    if local - {"all"}:
        problems.append(f"rules run outside SLURM: {sorted(local - {'all'})}")
    if not re.search(r"^(\d+) of \1 steps \(100%\) done", log, re.MULTILINE):
        problems.append("Snakemake did not report all steps done")
    finished = set(re.findall(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", log, re.MULTILINE))
    finished = {job for job in finished if job[1] != "all"}
    if len(finished) != expected:
        problems.append(f"{len(finished)} jobs finished, the DAG has {expected}")
    groups = Counter(job["comment"].split("_wildcards_")[0] for job in jobs)
    print(
        f"{len(jobs)} sbatch submissions ran the {len(finished)} jobs of the DAG (`all` aside): "
        + ", ".join(f"{name} {count}" for name, count in sorted(groups.items()))
    )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sacct", required=True)
    parser.add_argument("--squeue", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--cancelled", required=True)
    args = parser.parse_args(argv)
    jobs = read_jobs(args.sacct)
    print_table(jobs)
    problems = check(
        jobs,
        read_squeue(args.squeue),
        Path(args.log).read_text(),
        args.expected,
        args.cancelled,
    )
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    if not problems:
        print("every job went through sbatch and completed; the cancelled one was retried")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

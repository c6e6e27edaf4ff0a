# Functions (input functions, targets, params) for the rules in workflow/rules/train.smk:
# look-ups in the plan (emibench.plan). They live apart from the rules because `snakemake --lint`
# wants no functions beside rules. One job per (system, variant) trains, fuses or stacks every
# seed of train.seeds, each into its own run folder (docs/models.md, docs/peers.md).

import os

SYSTEMS = config["train"]["systems"]
TRAINED = PLAN.systems("model")
FUSED = PLAN.systems("fuse")
STACKED = PLAN.systems("stack")


def test_labels_input():
    """The test labels file, when the config names one, so that new labels retrigger the runs."""
    path = config["dataset"]["test_labels"]
    return [raw(path)] if path else []


def one_of(names):
    """A wildcard constraint matching exactly ``names`` (nothing when empty)."""
    return "|".join(names) if names else "(?!)"


def runs_inputs(wildcards):
    """Every store, member metrics.json and tiny encoder a train, stack or fuse job reads."""
    return PLAN.runs_inputs(wildcards.system, wildcards.variant)


def runs_job(wildcards):
    """The job's spec (every seed's run) as one JSON word."""
    return job_arg(PLAN.runs_job(wildcards.system, wildcards.variant))


def submission_runs(wildcards):
    """Input function: metrics.json of the runs a system's submission chooses from."""
    return PLAN.submission_runs(wildcards.system)


def folders(paths):
    """Run folders of metrics.json paths, for a shell command."""
    return [os.path.dirname(p) for p in paths]


def train_targets():
    """Final outputs of workflow/rules/train.smk for the all target: every run and submission."""
    submissions = [PATHS["submission"].format(system=system) for system in SYSTEMS]
    return PLAN.metrics_files() + submissions

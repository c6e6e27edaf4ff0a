# Functions (input functions, targets, params) for the rules in workflow/rules/features.smk:
# look-ups in the plan (emibench.plan). They live apart from the rules because `snakemake --lint`
# wants no functions beside rules.

from emibench.features.sets import STORES, featset_pattern

ENCODERS = config["encoders"]
FEATURES = config["features"]
STAGE1 = config["stage1"]
STAGE1_SEEDS = STAGE1["seeds"]
# the Stage I jobs of stage1.objective: joint, or the two pairs
PAIRS = PLAN.stage1_jobs
TINY_MODELS = PLAN.tiny_models
# feature set folders by the stores they are made of: one rule per shape
FEATSETS_ALL_STORES = featset_pattern(STORES)
FEATSETS_VISUAL_ONLY = featset_pattern(("visual",))
STORE_PATTERN = "|".join(STORES)
PAIR_PATTERN = "|".join(PAIRS)


def feature_inputs(wildcards):
    """Input function of a features job: the manifest, its shards' media, its Stage I
    checkpoints or tiny encoders."""
    return PLAN.feature_inputs(wildcards.featset, wildcards.split)


def feature_job(wildcards):
    return job_arg(PLAN.feature_job(wildcards.featset, wildcards.split))


def stage1_inputs(wildcards):
    """Each split's frames and/or audio stores and transcripts, and the job's tiny models."""
    return PLAN.stage1_inputs(wildcards.pair)


def stage1_io(wildcards, input):
    """``--<split>-frames|audio|transcripts`` of a Stage I job, from its inputs."""
    return " ".join(
        f"--{key.replace('_', '-')} {' '.join(input[key]) if isinstance(input[key], list) else input[key]}"
        for key in input.keys()
        if key != "models"
    )


def stage1_encoders(wildcards):
    """``--vision-encoder``, ``--audio-encoder`` (the job's media) and ``--text-encoder``."""
    specs = PLAN.stage1_encoders(wildcards.pair)
    return " ".join(
        f"--{option.replace('_', '-')} {as_json(spec)}"
        for option, spec in specs.items()
    )


def stage1_settings(wildcards):
    """Config section stage1 for one seed's job, as one JSON word (without what the Stage I
    training does not read: the seeds, and what the stage1 feature set stores)."""
    settings = {k: v for k, v in STAGE1.items() if k not in ("seeds", "features")}
    return as_json({**settings, "seed": int(wildcards.seed)})


def feature_targets():
    """Final outputs of workflow/rules/features.smk for the default target: every Stage I
    checkpoint and log (the feature stores are made for the runs that read them)."""
    return [
        *expand(PATHS["stage1_ckpt"], pair=PAIRS, seed=STAGE1_SEEDS),
        *expand(PATHS["stage1_log"], pair=PAIRS, seed=STAGE1_SEEDS),
    ]

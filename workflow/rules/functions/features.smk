# Functions (input functions, targets, params) for the rules in workflow/rules/features.smk:
# look-ups in the plan (emibench.plan). They live apart from the rules because `snakemake --lint`
# wants no functions beside rules.

from emibench.features.sets import STORES, featset_pattern

ENCODERS = config["encoders"]
FEATURES = config["features"]
STAGE1 = config["stage1"]
STAGE1_SEEDS = STAGE1["seeds"]
PAIRS = list(PLAN.stage1_pairs)
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
    """Each split's media stores (frames or audio) and transcripts, and the pair's tiny models."""
    return PLAN.stage1_inputs(wildcards.pair)


def stage1_media_encoder(wildcards):
    """The pair's media encoder spec as one JSON word."""
    return as_json(ENCODERS[PLAN.stage1_pairs[wildcards.pair]])


def stage1_settings(wildcards):
    """Config section stage1 for one seed's job, as one JSON word."""
    settings = {k: v for k, v in STAGE1.items() if k != "seeds"}
    return as_json({**settings, "seed": int(wildcards.seed)})


def feature_targets():
    """Final outputs of workflow/rules/features.smk for the default target: every Stage I
    checkpoint and log (the feature stores are made for the runs that read them)."""
    return [
        *expand(PATHS["stage1_ckpt"], pair=PAIRS, seed=STAGE1_SEEDS),
        *expand(PATHS["stage1_log"], pair=PAIRS, seed=STAGE1_SEEDS),
    ]

# Functions (input functions, targets, params) for the rules in workflow/rules/robustness.smk:
# look-ups in the plan (emibench.plan). They live apart from the rules because `snakemake --lint`
# wants no functions beside rules. A condition (config robustness.conditions) is a branch of the
# DAG: the media stores it changes (corrupt, or transcribe for asr) -> the feature stores it
# changes -> every trained run predicts (docs/robustness.md). Everything it leaves alone is the
# clean file.

CONDITIONS = PLAN.conditions
ROBUST_SPLITS = PLAN.robust_splits
ROBUST_REPORT = config["report"]["robustness"]


def condition_spec(condition):
    """The condition's ops with every parameter filled in, as one JSON word (a changed op or
    parameter changes the params of its branch's jobs)."""
    return as_json(CONDITIONS[condition].to_spec())


CONDITION_MEDIA = {
    store: PATHS["condition_media_dir"].replace("{store}", store)
    for store in ("frames", "audio", "transcripts")
}


def corrupt_inputs(store):
    """Input function of the corrupt job of ``store``: the clean file of each shard."""

    def inputs(wildcards):
        return PLAN.corrupt_job(wildcards.condition, store, wildcards.split).inputs

    return inputs


def corrupt_job(store):
    """Params function: the corrupt job of ``store`` as one JSON word."""

    def job(wildcards):
        return job_arg(PLAN.corrupt_job(wildcards.condition, store, wildcards.split))

    return job


def condition_feature_inputs(wildcards):
    """Input function of a condition's features job (one set, store and split)."""
    return PLAN.feature_inputs(
        wildcards.featset, wildcards.split, wildcards.condition, wildcards.modality
    )


def condition_feature_job(wildcards):
    job = PLAN.feature_job(
        wildcards.featset, wildcards.split, wildcards.condition, wildcards.modality
    )
    return job_arg(job)


def condition_transcribe_inputs(wildcards):
    """transcribe_inputs of preprocess.smk with the folder of the condition's audio store."""
    inputs = transcribe_inputs(wildcards)
    inputs["audio"] = PLAN.condition_media(
        wildcards.condition, "audio", wildcards.split
    )
    return inputs


def condition_audio_shard(wildcards):
    """The shard's file in the folder of the condition's audio store."""
    return PATHS["condition_audio"].format(
        condition=wildcards.condition, split=wildcards.split, shard=wildcards.shard
    )


def predict_inputs(wildcards):
    """Every run's model.pt / metrics.json and every store a condition's predict job reads."""
    return PLAN.predict_inputs(wildcards.condition)


def predict_job(wildcards):
    return job_arg(PLAN.predict_job(wildcards.condition))


def robustness_table_files():
    return expand(PATHS["table"], table=ROBUSTNESS_TABLES, ext=TABLE_FORMATS)


def robustness_figure_files():
    return expand(PATHS["figure"], figure=ROBUSTNESS_FIGURES)


def robustness_targets():
    """Final outputs of workflow/rules/robustness.smk for `rule all` (nothing without
    conditions): the collected table, the DVC metrics, tables and figures."""
    if not CONDITIONS:
        return []
    return [
        PATHS["robustness_results"],
        PATHS["robustness_metrics"],
        *robustness_table_files(),
        *robustness_figure_files(),
    ]

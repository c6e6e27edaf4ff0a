# Rules: robustness conditions (docs/robustness.md). Per condition: the media stores it changes,
# per shard (corrupt, or transcribe for asr) -> the feature stores it changes, one job per split,
# feature set and modality -> one job in which every trained run predicts (fused runs average
# their members) -> collect, tables, figures.
# Functions for these rules live in workflow/rules/functions/robustness.smk (lint: no functions here).


# One job per condition, store it corrupts and split writes that store's folder, shard by shard
# (emibench.plan.jobs.CorruptJob). A vision condition's frames store is a full copy of the clean
# one (150 kB a frame at 224 px): kept, like the audio, only until its features exist.
rule robustness_frames:
    input:
        corrupt_inputs("frames"),
    output:
        temp(directory(CONDITION_MEDIA["frames"])),
    log:
        log_path("robustness_frames", "condition", "split"),
    benchmark:
        bench_path("robustness_frames", "condition", "split")
    wildcard_constraints:
        condition=one_of(PLAN.conditions_changing("frames")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    params:
        job=corrupt_job("frames"),
    shell:
        "emibench corrupt --job {params.job} > {log} 2>&1"


use rule robustness_frames as robustness_audio with:
    input:
        corrupt_inputs("audio"),
    output:
        temp(directory(CONDITION_MEDIA["audio"])),
    log:
        log_path("robustness_audio", "condition", "split"),
    benchmark:
        bench_path("robustness_audio", "condition", "split")
    wildcard_constraints:
        condition=one_of(PLAN.conditions_changing("audio")),
        split=one_of(ROBUST_SPLITS),
    params:
        job=corrupt_job("audio"),


use rule robustness_frames as robustness_remove_text with:
    input:
        corrupt_inputs("transcripts"),
    output:
        directory(CONDITION_MEDIA["transcripts"]),
    log:
        log_path("robustness_remove_text", "condition", "split"),
    benchmark:
        bench_path("robustness_remove_text", "condition", "split")
    wildcard_constraints:
        condition=one_of(PLAN.conditions_with_text("removed")),
        split=one_of(ROBUST_SPLITS),
    params:
        job=corrupt_job("transcripts"),


# asr conditions: the configured ASR (as in rule transcribe) on the condition's audio.
rule robustness_transcribe:
    input:
        unpack(condition_transcribe_inputs),
    output:
        PATHS["condition_transcripts"],
    log:
        log_path("robustness_transcribe", "condition", "split", "shard"),
    benchmark:
        bench_path("robustness_transcribe", "condition", "split", "shard")
    wildcard_constraints:
        condition=one_of(PLAN.conditions_with_text("asr")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    threads: step_resource("transcribe", "threads")
    resources:
        mem_mb=step_resource("transcribe", "mem_mb"),
        runtime=step_resource("transcribe", "runtime"),
        gpu=transcribe_gpus,
    params:
        audio=condition_audio_shard,
        config=asr_config,
        phrases=phrases_option,
        device=config["resources"]["device"],
    shell:
        "emibench transcribe --manifest {input.manifest} --split {wildcards.split}"
        " --shard {wildcards.shard} --audio {params.audio} --out {output}"
        " --config {params.config} {params.phrases} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


# asr conditions for a run that reads a named transcript set: that set's ASR on the noisy audio.
use rule robustness_transcribe as robustness_transcribe_set with:
    output:
        PATHS["condition_set_transcripts"],
    log:
        log_path("robustness_transcribe_set", "condition", "tset", "split", "shard"),
    benchmark:
        bench_path("robustness_transcribe_set", "condition", "tset", "split", "shard")
    wildcard_constraints:
        condition=one_of(PLAN.conditions_with_text("asr")),
        tset=one_of(NAMED_SETS),
        split=one_of(ROBUST_SPLITS),


# One job per feature set, changed store and split: the same encoders and Stage I checkpoints as
# the clean features (rule features), on the condition's media.
rule robustness_features:
    input:
        condition_feature_inputs,
    output:
        directory(PATHS["condition_feature_dir"]),
    log:
        log_path("robustness_features", "condition", "featset", "modality", "split"),
    benchmark:
        bench_path("robustness_features", "condition", "featset", "modality", "split")
    wildcard_constraints:
        condition=one_of(list(CONDITIONS)),
        featset=f"{FEATSETS_ALL_STORES}|{FEATSETS_VISUAL_ONLY}",
        modality=STORE_PATTERN,
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    threads: step_resource("features", "threads")
    resources:
        mem_mb=step_resource("features", "mem_mb"),
        runtime=step_resource("features", "runtime"),
        gpu=step_resource("features", "gpu"),
    params:
        job=condition_feature_job,
        device=config["resources"]["device"],
    shell:
        "emibench features --job {params.job} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


# One job per condition: every trained run predicts its splits (no training; model.pt and the
# run's standardisation), then every fused and late-fusion run combines its members'. Each run's
# output folder under the condition is the job's (a folder: its files depend on the run).
rule robustness_predict:
    input:
        predict_inputs,
        test_labels=test_labels_input(),
    output:
        runs=[directory(path) for path in PLAN.condition_dirs()],
        results=PATHS["condition_results"],
    log:
        log_path("robustness_predict", "condition"),
    benchmark:
        bench_path("robustness_predict", "condition")
    wildcard_constraints:
        condition=one_of(list(CONDITIONS)),
    conda:
        ENV
    threads: step_resource("predict", "threads")
    resources:
        mem_mb=step_resource("predict", "mem_mb"),
        runtime=step_resource("predict", "runtime"),
        gpu=step_resource("predict", "gpu"),
    params:
        job=predict_job,
        device=config["resources"]["device"],
    shell:
        "emibench predict --job {params.job} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


rule collect_robustness:
    input:
        tables=expand(PATHS["condition_results"], condition=list(CONDITIONS)),
    output:
        results=PATHS["robustness_results"],
        metrics=PATHS["robustness_metrics"],
    log:
        log_path("collect_robustness"),
    benchmark:
        bench_path("collect_robustness")
    conda:
        ENV
    params:
        config=as_json(REPORT),
    shell:
        "emibench collect --tables {input.tables} --results {output.results}"
        " --metrics {output.metrics} --config {params.config} --conditions > {log} 2>&1"


rule robustness_tables:
    input:
        unpack(report_labels),
        clean=PATHS["results_table"],
        results=PATHS["robustness_results"],
    output:
        tables=robustness_table_files(),
    log:
        log_path("robustness_tables"),
    benchmark:
        bench_path("robustness_tables")
    conda:
        ENV
    params:
        config=as_json(REPORT),
        conditions=as_json(config["robustness"]),
        test_labels=optional_arg("--test-labels", "test_labels"),
        latents=optional_arg("--latents", "latents"),
    shell:
        "emibench robustness-tables --clean {input.clean} --results {input.results}"
        " --manifest {input.manifest} {params.test_labels} {params.latents}"
        " --config {params.config} --conditions {params.conditions}"
        " --outputs {output.tables} > {log} 2>&1"


rule robustness_figures:
    input:
        tables=expand(PATHS["table"], table=ROBUSTNESS_TABLES, ext="csv"),
    output:
        figures=robustness_figure_files(),
    log:
        log_path("robustness_figures"),
    benchmark:
        bench_path("robustness_figures")
    conda:
        ENV
    params:
        conditions=as_json(config["robustness"]),
        split=REPORT["split"],
    shell:
        "emibench robustness-figures --tables {input.tables}"
        " --conditions {params.conditions} --split {params.split}"
        " --outputs {output.figures} > {log} 2>&1"

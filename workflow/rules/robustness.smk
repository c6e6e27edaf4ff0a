# Rules: robustness conditions (docs/robustness.md). Per condition: the media stores it changes,
# per shard (corrupt, or transcribe for asr) -> the feature stores it changes, one job per split,
# feature set and modality -> one job in which every trained run predicts (fused runs average
# their members) -> collect, tables, figures.
# Functions for these rules live in workflow/rules/functions/robustness.smk (lint: no functions here).


# A vision condition's frames store is a full copy of the clean one (150 kB a frame at 224 px):
# kept only until its features exist.
rule robustness_frames:
    input:
        frames=PATHS["frames"],
    output:
        temp(PATHS["condition_frames"]),
    log:
        log_path("robustness_frames", "condition", "split", "shard"),
    benchmark:
        bench_path("robustness_frames", "condition", "split", "shard")
    wildcard_constraints:
        condition=one_of(conditions_changing("frames")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    params:
        spec=lambda w: condition_spec(w.condition),
        seed=ROBUSTNESS.seed,
    shell:
        "emibench corrupt --condition {wildcards.condition} --spec {params.spec}"
        " --seed {params.seed} --split {wildcards.split} --shard {wildcards.shard}"
        " --frames {input.frames} --frames-out {output} > {log} 2>&1"


rule robustness_audio:
    input:
        audio=PATHS["audio"],
    output:
        temp(PATHS["condition_audio"]),
    log:
        log_path("robustness_audio", "condition", "split", "shard"),
    benchmark:
        bench_path("robustness_audio", "condition", "split", "shard")
    wildcard_constraints:
        condition=one_of(conditions_changing("audio")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    params:
        spec=lambda w: condition_spec(w.condition),
        seed=ROBUSTNESS.seed,
    shell:
        "emibench corrupt --condition {wildcards.condition} --spec {params.spec}"
        " --seed {params.seed} --split {wildcards.split} --shard {wildcards.shard}"
        " --audio {input.audio} --audio-out {output} > {log} 2>&1"


rule robustness_remove_text:
    input:
        transcripts=PATHS["transcript_shard"],
    output:
        PATHS["condition_transcripts"],
    log:
        log_path("robustness_remove_text", "condition", "split", "shard"),
    benchmark:
        bench_path("robustness_remove_text", "condition", "split", "shard")
    wildcard_constraints:
        condition=one_of(conditions_with_text("removed")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    params:
        spec=lambda w: condition_spec(w.condition),
        seed=ROBUSTNESS.seed,
    shell:
        "emibench corrupt --condition {wildcards.condition} --spec {params.spec}"
        " --seed {params.seed} --split {wildcards.split} --shard {wildcards.shard}"
        " --transcripts {input.transcripts} --transcripts-out {output} > {log} 2>&1"


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
        condition=one_of(conditions_with_text("asr")),
        split=one_of(ROBUST_SPLITS),
    conda:
        ENV
    threads: step_resource("transcribe", "threads")
    resources:
        mem_mb=step_resource("transcribe", "mem_mb"),
        runtime=step_resource("transcribe", "runtime"),
        gpu=transcribe_gpus(),
    params:
        config=as_json(ASR),
        phrases=phrases_option(),
        device=config["resources"]["device"],
    shell:
        "emibench transcribe --manifest {input.manifest} --split {wildcards.split}"
        " --shard {wildcards.shard} --audio {input.audio} --out {output}"
        " --config {params.config} {params.phrases} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


# One job per split, feature set and changed modality: the same encoders and Stage I checkpoints
# as the clean features (rule features_<split>), on the condition's media.
for _split in ROBUST_SPLITS:

    rule:
        name:
            f"robustness_features_{_split}"
        input:
            unpack(feature_inputs(_split, FEATURE_MODALITIES, robust=True)),
        output:
            condition_feature_outputs(_split),
        log:
            log_path(
                f"robustness_features_{_split}", "condition", "featset", "modality"
            ),
        benchmark:
            bench_path(
                f"robustness_features_{_split}", "condition", "featset", "modality"
            )
        wildcard_constraints:
            condition=one_of(list(CONDITIONS)),
            featset=FEATSET_PATTERN,
            modality="visual|audio|text",
        conda:
            ENV
        threads: step_resource("features", "threads")
        resources:
            mem_mb=step_resource("features", "mem_mb"),
            runtime=step_resource("features", "runtime"),
            gpu=step_resource("features", "gpu"),
        params:
            kind=lambda w: featset_kind(w.featset),
            split=_split,
            shards=" ".join(shards(_split)),
            sources=feature_source_args,
            settings=as_json(FEATURES),
            device=config["resources"]["device"],
        shell:
            "emibench features --featset {params.kind} --split {params.split}"
            " --shard {params.shards} --manifest {input.manifest} --frames {input.frames}"
            " --audio {input.audio} --transcripts {input.transcripts}"
            " --{wildcards.modality}-out {output}"
            " {params.sources} --settings {params.settings} --device {params.device}"
            " --threads {threads} > {log} 2>&1"


# One job per condition: every trained run predicts its splits (no training; model.pt and the
# run's standardisation), then every fused run averages its members.
rule robustness_predict:
    input:
        unpack(predict_inputs),
        test_labels=test_labels_input(),
    output:
        files=predict_outputs(),
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
        spec=lambda w: condition_spec(w.condition),
        splits=" ".join(ROBUST_SPLITS),
        runs=predict_options,
        test_labels=test_labels_option,
        device=config["resources"]["device"],
    shell:
        "emibench predict --condition {wildcards.condition} --spec {params.spec}"
        " --splits {params.splits} --manifest {input.manifest} {params.test_labels}"
        " {params.runs} --device {params.device} --threads {threads} > {log} 2>&1"


rule collect_robustness:
    input:
        runs=condition_metrics(),
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
        "emibench collect --runs {input.runs} --results {output.results}"
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

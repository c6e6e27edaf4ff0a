# Rules: frames, audio and transcripts per shard.
# Functions for these rules live in workflow/rules/functions/preprocess.smk (lint: no functions here).


rule frames:
    input:
        manifest=PATHS["manifest"],
    output:
        PATHS["frames"],
    log:
        log_path("frames", "split", "shard"),
    benchmark:
        bench_path("frames", "split", "shard")
    conda:
        ENV
    threads: step_resource("frames", "threads")
    resources:
        mem_mb=step_resource("frames", "mem_mb"),
        runtime=step_resource("frames", "runtime"),
    params:
        config=as_json(PREPROCESS["frames"]),
    shell:
        "emibench frames --manifest {input.manifest} --split {wildcards.split}"
        " --shard {wildcards.shard} --out {output} --config {params.config}"
        " --threads {threads} > {log} 2>&1"


rule audio:
    input:
        manifest=PATHS["manifest"],
    output:
        PATHS["audio"],
    log:
        log_path("audio", "split", "shard"),
    benchmark:
        bench_path("audio", "split", "shard")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=step_resource("audio", "mem_mb"),
        runtime=step_resource("audio", "runtime"),
    params:
        config=as_json(PREPROCESS["audio"]),
    shell:
        "emibench audio --manifest {input.manifest} --split {wildcards.split}"
        " --shard {wildcards.shard} --out {output} --config {params.config} > {log} 2>&1"


rule make_tiny_whisper:
    output:
        directory(PATHS["tiny_whisper"]),
    log:
        log_path("make_tiny_whisper"),
    benchmark:
        bench_path("make_tiny_whisper")
    conda:
        ENV
    shell:
        "emibench make-tiny-whisper --out {output} > {log} 2>&1"


rule transcribe:
    input:
        unpack(transcribe_inputs),
    output:
        PATHS["transcript_shard"],
    log:
        log_path("transcribe", "split", "shard"),
    benchmark:
        bench_path("transcribe", "split", "shard")
    conda:
        ENV
    threads: step_resource("transcribe", "threads")
    resources:
        mem_mb=step_resource("transcribe", "mem_mb"),
        runtime=step_resource("transcribe", "runtime"),
        gpu=transcribe_gpus,
    params:
        config=asr_config,
        phrases=phrases_option,
        device=config["resources"]["device"],
    shell:
        "emibench transcribe --manifest {input.manifest} --split {wildcards.split}"
        " --shard {wildcards.shard} --audio {input.audio} --out {output}"
        " --config {params.config} {params.phrases} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


rule merge_transcripts:
    input:
        transcript_shards,
    output:
        PATHS["transcripts"],
    log:
        log_path("merge_transcripts", "split"),
    benchmark:
        bench_path("merge_transcripts", "split")
    conda:
        ENV
    shell:
        "emibench merge-transcripts {input} --out {output} > {log} 2>&1"


# Named transcript sets (preprocess.transcript_sets): the same ASR rules with the set's settings,
# into the set's own tables; made where a run reads the set (its `transcripts` key).
use rule transcribe as transcribe_set with:
    output:
        PATHS["set_transcript_shard"],
    log:
        log_path("transcribe_set", "tset", "split", "shard"),
    benchmark:
        bench_path("transcribe_set", "tset", "split", "shard")
    wildcard_constraints:
        tset=one_of(NAMED_SETS),


use rule merge_transcripts as merge_transcripts_set with:
    output:
        PATHS["set_transcripts"],
    log:
        log_path("merge_transcripts_set", "tset", "split"),
    benchmark:
        bench_path("merge_transcripts_set", "tset", "split")
    wildcard_constraints:
        tset=one_of(NAMED_SETS),

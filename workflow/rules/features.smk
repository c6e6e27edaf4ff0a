# Rules: local models, feature extraction, Stage I.
# Functions for these rules live in workflow/rules/functions/features.smk (lint: no functions here).


rule make_tiny_models:
    output:
        models=[directory(path) for path in TINY_MODELS.values()],
    log:
        log_path("make_tiny_models"),
    benchmark:
        bench_path("make_tiny_models")
    conda:
        ENV
    params:
        out_dir=lambda w, output: os.path.dirname(output.models[0]),
        spec=as_json(ENCODERS["tiny"]),
    shell:
        "emibench make-tiny-models --out-dir {params.out_dir} --spec {params.spec} > {log} 2>&1"


# One job per split and feature set writes every shard's stores of that set: the encoders load
# once per job, and a split is minutes of GPU work even on the real set. One rule per split and
# set shape (the stores a set is made of: all three, or visual only for taemi).
for _split in SPLITS:
    for _stores, _featsets in FEATSET_SHAPES.items():

        rule:
            name:
                features_rule_name(_split, _stores)
            input:
                unpack(feature_inputs(_split, _stores)),
            output:
                **feature_outputs(_split, _stores),
            log:
                log_path(features_rule_name(_split, _stores), "featset"),
            benchmark:
                bench_path(features_rule_name(_split, _stores), "featset")
            wildcard_constraints:
                featset=_featsets,
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
                io=feature_io_args,
                sources=feature_source_args,
                settings=as_json(FEATURES),
                device=config["resources"]["device"],
            shell:
                "emibench features --featset {params.kind} --split {params.split}"
                " --shard {params.shards} --manifest {input.manifest} --frames {input.frames}"
                " {params.io} {params.sources} --settings {params.settings}"
                " --device {params.device} --threads {threads} > {log} 2>&1"


rule stage1:
    input:
        unpack(stage1_inputs),
    output:
        checkpoint=PATHS["stage1_ckpt"],
        table=PATHS["stage1_log"],
    log:
        log_path("stage1", "pair", "seed"),
    benchmark:
        bench_path("stage1", "pair", "seed")
    wildcard_constraints:
        pair="vision_text|audio_text",
    conda:
        ENV
    threads: step_resource("stage1", "threads")
    resources:
        mem_mb=step_resource("stage1", "mem_mb"),
        runtime=step_resource("stage1", "runtime"),
        gpu=step_resource("stage1", "gpu"),
    params:
        media_encoder=stage1_media_encoder,
        text_encoder=as_json(ENCODERS["text"]),
        settings=stage1_settings,
        extract=as_json(FEATURES),
        device=config["resources"]["device"],
    shell:
        "emibench stage1 --pair {wildcards.pair}"
        " --train-media {input.train_media} --valid-media {input.valid_media}"
        " --test-media {input.test_media}"
        " --train-transcripts {input.train_transcripts}"
        " --valid-transcripts {input.valid_transcripts}"
        " --test-transcripts {input.test_transcripts}"
        " --media-encoder {params.media_encoder} --text-encoder {params.text_encoder}"
        " --settings {params.settings} --extract {params.extract}"
        " --checkpoint {output.checkpoint} --log {output.table}"
        " --device {params.device} --threads {threads} > {log} 2>&1"

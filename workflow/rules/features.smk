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


# One job per feature set and split writes every shard's stores of that set, one folder per store
# (the encoders load once per job; a split is minutes of GPU work even on the real set). Two
# rules, by the stores a set is made of: all three, or the visual one alone (taemi).
rule features:
    input:
        feature_inputs,
    output:
        **{s: directory(PATHS["feature_dir"].replace("{modality}", s)) for s in STORES},
    log:
        log_path("features", "featset", "split"),
    benchmark:
        bench_path("features", "featset", "split")
    wildcard_constraints:
        featset=FEATSETS_ALL_STORES,
    conda:
        ENV
    threads: step_resource("features", "threads")
    resources:
        mem_mb=step_resource("features", "mem_mb"),
        runtime=step_resource("features", "runtime"),
        gpu=step_resource("features", "gpu"),
    params:
        job=feature_job,
        device=config["resources"]["device"],
    shell:
        "emibench features --job {params.job} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


use rule features as features_visual with:
    output:
        visual=directory(PATHS["feature_dir"].replace("{modality}", "visual")),
    log:
        log_path("features_visual", "featset", "split"),
    benchmark:
        bench_path("features_visual", "featset", "split")
    wildcard_constraints:
        featset=FEATSETS_VISUAL_ONLY,


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
        pair=PAIR_PATTERN,
    conda:
        ENV
    threads: step_resource("stage1", "threads")
    resources:
        mem_mb=step_resource("stage1", "mem_mb"),
        runtime=step_resource("stage1", "runtime"),
        gpu=step_resource("stage1", "gpu"),
    params:
        io=stage1_io,
        encoders=stage1_encoders,
        settings=stage1_settings,
        extract=as_json(FEATURES),
        device=config["resources"]["device"],
    shell:
        "emibench stage1 --pair {wildcards.pair} {params.io} {params.encoders}"
        " --settings {params.settings} --extract {params.extract}"
        " --checkpoint {output.checkpoint} --log {output.table}"
        " --device {params.device} --threads {threads} > {log} 2>&1"

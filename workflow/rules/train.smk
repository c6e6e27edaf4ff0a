# Rules: Stage II runs (system x variant, every seed), baseline fusion, late fusion, submissions.
# Functions for these rules live in workflow/rules/functions/train.smk (lint: no functions here).


rule train:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        stores=train_inputs,
    output:
        files=run_files(TRAINED_FILES),
    log:
        log_path("train", "system", "variant"),
    benchmark:
        bench_path("train", "system", "variant")
    wildcard_constraints:
        system=one_of(TRAINED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: step_resource("train", "threads")
    resources:
        mem_mb=step_resource("train", "mem_mb"),
        runtime=step_resource("train", "runtime"),
        gpu=step_resource("train", "gpu"),
    params:
        config=lambda w: as_json(run_config(w.system, w.variant)),
        seeds=" ".join(str(seed) for seed in SEEDS),
        out_dirs=run_dirs,
        stores=stores_option,
        test_labels=test_labels_option,
        device=config["resources"]["device"],
    shell:
        "emibench train --system {wildcards.system} --variant {wildcards.variant}"
        " --seeds {params.seeds} --out-dirs {params.out_dirs} --config {params.config}"
        " --manifest {input.manifest} {params.stores} {params.test_labels}"
        " --device {params.device} --threads {threads} > {log} 2>&1"


rule fuse:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=fusion_members,
    output:
        files=run_files(FUSED_FILES),
    log:
        log_path("fuse", "system", "variant"),
    benchmark:
        bench_path("fuse", "system", "variant")
    wildcard_constraints:
        system=one_of(FUSED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    params:
        features=lambda w: run_config(w.system, w.variant)["features"],
        modalities=lambda w: run_config(w.system, w.variant)["modalities"],
        seeds=" ".join(str(seed) for seed in SEEDS),
        out_dirs=run_dirs,
        members=members_option,
        test_labels=test_labels_option,
    shell:
        "emibench fuse --system {wildcards.system} --variant {wildcards.variant}"
        " --seeds {params.seeds} --out-dirs {params.out_dirs} {params.members}"
        " --features {params.features} --modalities {params.modalities}"
        " --manifest {input.manifest} {params.test_labels} > {log} 2>&1"


rule stack:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=fusion_members,
        stores=train_inputs,
    output:
        files=run_files(STACKED_FILES),
    log:
        log_path("stack", "system", "variant"),
    benchmark:
        bench_path("stack", "system", "variant")
    wildcard_constraints:
        system=one_of(STACKED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=step_resource("stack", "mem_mb"),
        runtime=step_resource("stack", "runtime"),
    params:
        config=lambda w: as_json(run_config(w.system, w.variant)),
        seeds=" ".join(str(seed) for seed in SEEDS),
        out_dirs=run_dirs,
        members=members_option,
        stores=stores_option,
        test_labels=test_labels_option,
    shell:
        "emibench stack --system {wildcards.system} --variant {wildcards.variant}"
        " --seeds {params.seeds} --out-dirs {params.out_dirs} --config {params.config}"
        " {params.members} --manifest {input.manifest} {params.stores} {params.test_labels}"
        " --device cpu --threads {threads} > {log} 2>&1"


rule submission:
    input:
        manifest=PATHS["manifest"],
        runs=submission_runs,
    output:
        csv=PATHS["submission"],
        info=PATHS["submission_info"],
    log:
        log_path("submission", "system"),
    benchmark:
        bench_path("submission", "system")
    wildcard_constraints:
        system=one_of(list(SYSTEMS)),
    conda:
        ENV
    params:
        runs=lambda w, input: folders(input.runs),
    shell:
        "emibench submit --runs {params.runs} --manifest {input.manifest}"
        " --out {output.csv} --info {output.info} > {log} 2>&1"

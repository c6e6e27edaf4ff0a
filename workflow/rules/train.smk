# Rules: Stage II runs (system x variant x seed), baseline fusion, late fusion, submissions.
# Functions for these rules live in workflow/rules/functions/train.smk (lint: no functions here).


rule train:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        visual=run_stores("V"),
        audio=run_stores("A"),
        text=run_stores("T"),
    output:
        metrics=PATHS["run_metrics"],
        predictions=expand(
            PATHS["run_file"],
            name=[f"predictions_{s}.csv" for s in SPLITS],
            allow_missing=True,
        ),
        log_tsv=run_file("train_log.tsv"),
        model=run_file("model.pt"),
    log:
        log_path("train", "system", "variant", "seed"),
    benchmark:
        bench_path("train", "system", "variant", "seed")
    wildcard_constraints:
        system=one_of(TRAINED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: config["resources"]["threads"]
    resources:
        mem_mb=config["resources"]["mem_mb"],
        runtime=config["resources"]["runtime"],
        gpu=config["resources"]["gpu"],
    params:
        config=lambda w: as_json(run_config(w.system, w.variant)),
        test_labels=test_labels_arg,
        device=config["resources"]["device"],
        out_dir=lambda w, output: os.path.dirname(output.metrics),
    shell:
        "emibench train --system {wildcards.system} --variant {wildcards.variant}"
        " --seed {wildcards.seed} --config {params.config} --manifest {input.manifest}"
        " --visual {input.visual} --audio {input.audio} --text {input.text}"
        " --test-labels {params.test_labels:q} --out-dir {params.out_dir}"
        " --device {params.device} --threads {threads} > {log} 2>&1"


rule fuse:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=fusion_members,
    output:
        metrics=PATHS["run_metrics"],
        predictions=expand(
            PATHS["run_file"],
            name=[f"predictions_{s}.csv" for s in SPLITS],
            allow_missing=True,
        ),
        log_tsv=run_file("train_log.tsv"),
        model=run_file("model.pt"),
    log:
        log_path("fuse", "system", "variant", "seed"),
    benchmark:
        bench_path("fuse", "system", "variant", "seed")
    wildcard_constraints:
        system=one_of(FUSED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    params:
        members=lambda w, input: folders(input.members),
        features=lambda w: run_config(w.system, w.variant)["features"],
        modalities=lambda w: run_config(w.system, w.variant)["modalities"],
        test_labels=test_labels_arg,
        out_dir=lambda w, output: os.path.dirname(output.metrics),
    shell:
        "emibench fuse --members {params.members} --system {wildcards.system}"
        " --variant {wildcards.variant} --seed {wildcards.seed}"
        " --features {params.features} --modalities {params.modalities}"
        " --manifest {input.manifest} --test-labels {params.test_labels:q}"
        " --out-dir {params.out_dir} > {log} 2>&1"


rule stack:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=fusion_members,
        visual=run_stores("V"),
        audio=run_stores("A"),
        text=run_stores("T"),
    output:
        metrics=PATHS["run_metrics"],
        predictions=expand(
            PATHS["run_file"],
            name=[f"predictions_{s}.csv" for s in SPLITS],
            allow_missing=True,
        ),
        log_tsv=run_file("train_log.tsv"),
        model=run_file("model.pt"),
    log:
        log_path("stack", "system", "variant", "seed"),
    benchmark:
        bench_path("stack", "system", "variant", "seed")
    wildcard_constraints:
        system=one_of(STACKED),
        variant=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=config["resources"]["mem_mb"],
        runtime=config["resources"]["runtime"],
    params:
        config=lambda w: as_json(run_config(w.system, w.variant)),
        members=lambda w, input: folders(input.members),
        test_labels=test_labels_arg,
        out_dir=lambda w, output: os.path.dirname(output.metrics),
    shell:
        "emibench stack --system {wildcards.system} --variant {wildcards.variant}"
        " --seed {wildcards.seed} --config {params.config} --members {params.members}"
        " --manifest {input.manifest} --visual {input.visual} --audio {input.audio}"
        " --text {input.text} --test-labels {params.test_labels:q}"
        " --out-dir {params.out_dir} --device cpu --threads {threads} > {log} 2>&1"


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

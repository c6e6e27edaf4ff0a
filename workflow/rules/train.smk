# Rules: Stage II runs (system x variant, every seed), baseline fusion, late fusion, submissions.
# Functions for these rules live in workflow/rules/functions/train.smk (lint: no functions here).


rule train:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        stores=runs_inputs,
    output:
        files=PLAN.run_files("model"),
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
        job=runs_job,
        device=config["resources"]["device"],
    shell:
        "emibench train --job {params.job} --device {params.device}"
        " --threads {threads} > {log} 2>&1"


rule fuse:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=runs_inputs,
    output:
        files=PLAN.run_files("fuse"),
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
        job=runs_job,
    shell:
        "emibench fuse --job {params.job} > {log} 2>&1"


rule stack:
    input:
        manifest=PATHS["manifest"],
        test_labels=test_labels_input(),
        members=runs_inputs,
    output:
        files=PLAN.run_files("stack"),
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
        job=runs_job,
    shell:
        "emibench stack --job {params.job} --device cpu --threads {threads} > {log} 2>&1"


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

# Rules: the raw dataset (synthesized, checked in place, or downloaded; chosen by
# dataset.source), the manifest, the data report and Table 1.
# Functions for these rules live in workflow/rules/functions/dataset.smk (lint: no functions here).


if SOURCE == "synthetic":

    rule synthesize:
        output:
            splits=SPLIT_CSVS,
            test_labels=PATHS["synthetic_test_labels"],
            latents=PATHS["latents"],
            phrases=PATHS["phrases"],
            raw=directory(PATHS["raw_dir"]),
            audio=directory(PATHS["audio_dir"]),
            ok=PATHS["dataset_ok"],
        log:
            log_path("synthesize"),
        benchmark:
            bench_path("synthesize")
        conda:
            ENV
        threads: synth_threads()
        resources:
            mem_mb=step_resource("synthesize", "mem_mb"),
            runtime=step_resource("synthesize", "runtime"),
        params:
            root=synth_root,
            settings=synth_settings(),
        shell:
            "emibench synth --root {params.root} --settings {params.settings}"
            " --threads {threads} --layout-report {output.ok} > {log} 2>&1"


if SOURCE == "local":

    rule check_dataset:
        input:
            splits=[raw(path) for path in SPLIT_CSVS],
        output:
            ok=PATHS["dataset_ok"],
        log:
            log_path("check_dataset"),
        benchmark:
            bench_path("check_dataset")
        conda:
            ENV
        params:
            root=ROOT_ARG,
        shell:
            "emibench check-dataset --root {params.root} --output {output.ok} > {log} 2>&1"


if SOURCE == "url":

    rule download:
        output:
            ok=PATHS["dataset_ok"],
        log:
            log_path("download"),
        benchmark:
            bench_path("download")
        conda:
            ENV
        resources:
            mem_mb=step_resource("download", "mem_mb"),
            runtime=step_resource("download", "runtime"),
        params:
            root=ROOT_ARG,
            download=download_spec(),
        shell:
            "emibench download --root {params.root} --download {params.download}"
            " --output {output.ok} > {log} 2>&1"


rule manifest:
    input:
        unpack(manifest_inputs),
    output:
        PATHS["manifest"],
    log:
        log_path("manifest"),
    benchmark:
        bench_path("manifest")
    conda:
        ENV
    threads: step_resource("manifest", "threads")
    resources:
        mem_mb=step_resource("manifest", "mem_mb"),
        runtime=step_resource("manifest", "runtime"),
    params:
        root=ROOT_ARG,
        shards=as_json(config["shards"]),
    shell:
        "emibench manifest --root {params.root} --shards {params.shards}"
        " --threads {threads} --output {output} > {log} 2>&1"


rule data_report:
    input:
        manifest=PATHS["manifest"],
        transcripts=report_transcript_inputs(),
    output:
        PATHS["data_report"],
    log:
        log_path("data_report"),
    benchmark:
        bench_path("data_report")
    conda:
        ENV
    params:
        dataset=DATASET,
        root=ROOT_ARG,
        transcripts=report_transcript_args(),
    shell:
        "emibench data-report --manifest {input.manifest} --dataset {params.dataset}"
        " --root {params.root} --transcripts {params.transcripts} --output {output} > {log} 2>&1"


rule table1:
    input:
        manifest=PATHS["manifest"],
    output:
        csv=PATHS["table1_csv"],
        md=PATHS["table1_md"],
    log:
        log_path("table1"),
    benchmark:
        bench_path("table1")
    conda:
        ENV
    params:
        dataset=DATASET,
        paper=paper_reference_flag(),
    shell:
        "emibench table1 --manifest {input.manifest} --dataset {params.dataset}"
        " --csv {output.csv} --md {output.md} {params.paper} > {log} 2>&1"

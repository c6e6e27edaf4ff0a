# Rules: collect, tables, figures, leaderboard, report.
# Functions for these rules live in workflow/rules/functions/report.smk (lint: no functions here).


rule collect:
    input:
        runs=PLAN.metrics_files(),
        lock=LOCK,
    output:
        results=PATHS["results_table"],
        metrics=PATHS["metrics"],
    log:
        log_path("collect"),
    benchmark:
        bench_path("collect")
    conda:
        ENV
    params:
        config=as_json(REPORT),
    shell:
        "emibench collect --runs {input.runs} --results {output.results}"
        " --metrics {output.metrics} --lock {input.lock} --config {params.config}"
        " > {log} 2>&1"


rule tables:
    input:
        unpack(report_labels),
        results=PATHS["results_table"],
        table1=PATHS["table1_csv"],
    output:
        tables=table_files(),
    log:
        log_path("tables"),
    benchmark:
        bench_path("tables")
    conda:
        ENV
    params:
        config=as_json(REPORT),
        test_labels=optional_arg("--test-labels", "test_labels"),
        latents=optional_arg("--latents", "latents"),
    shell:
        "emibench tables --results {input.results} --manifest {input.manifest}"
        " {params.test_labels} {params.latents} --config {params.config}"
        " --table1-csv {input.table1} --outputs {output.tables} > {log} 2>&1"


rule figures:
    input:
        unpack(report_labels),
        results=PATHS["results_table"],
        tables=expand(PATHS["table"], table=TABLES, ext="csv"),
        stage1=STAGE1_LOGS,
    output:
        figures=figure_files(),
    log:
        log_path("figures"),
    benchmark:
        bench_path("figures")
    conda:
        ENV
    params:
        config=as_json(REPORT),
        test_labels=optional_arg("--test-labels", "test_labels"),
        latents=optional_arg("--latents", "latents"),
    shell:
        "emibench figures --results {input.results} --manifest {input.manifest}"
        " {params.test_labels} {params.latents} --config {params.config}"
        " --tables {input.tables} --stage1-logs {input.stage1}"
        " --outputs {output.figures} > {log} 2>&1"


rule leaderboard:
    input:
        unpack(leaderboard_inputs),
    output:
        tables=leaderboard_files(),
    log:
        log_path("leaderboard"),
    benchmark:
        bench_path("leaderboard")
    conda:
        ENV
    params:
        config=as_json(REPORT),
        benchmarks=as_json(job_benchmarks()),
        stage1=as_json(stage1_benchmarks()),
        robustness=optional_arg("--robustness", "robustness"),
    shell:
        "emibench leaderboard --results {input.results} --table {input.table}"
        " {params.robustness} --benchmarks {params.benchmarks}"
        " --stage1-benchmarks {params.stage1} --config {params.config}"
        " --outputs {output.tables} > {log} 2>&1"


rule report:
    input:
        notebook="workflow/notebooks/report.ipynb",
        results=PATHS["results_table"],
        metrics=PATHS["metrics"],
        table1_md=PATHS["table1_md"],
        data_report=PATHS["data_report"],
        tables=table_files(),
        figures=figure_files(),
        leaderboard=leaderboard_files(),
        robustness_tables=robustness_report_files("tables"),
        robustness_figures=robustness_report_files("figures"),
    output:
        notebook=PATHS["report_nb"],
        html=PATHS["report_html"],
    log:
        log_path("report"),
    benchmark:
        bench_path("report")
    conda:
        ENV
    params:
        parameters=report_parameters,
    shell:
        "emibench report --notebook {input.notebook} --out-notebook {output.notebook}"
        " --html {output.html} {params.parameters} > {log} 2>&1"

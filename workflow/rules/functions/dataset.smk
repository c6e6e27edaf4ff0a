# Functions (input functions, targets, params) for the rules in workflow/rules/dataset.smk.
# They live apart from the rules because `snakemake --lint` wants no functions beside rules.

import os
import shlex

ROOT_ARG = shlex.quote(ROOT)
SPLIT_CSVS = expand(PATHS["split_csv"], split=SPLITS)


def synth_settings():
    """The `synthetic` config section as one JSON argument (threads go to the rule instead)."""
    settings = {k: v for k, v in config["synthetic"].items() if k != "threads"}
    return as_json(settings)


def synth_root(wildcards, output):
    """The dataset root that synthesize writes into (the folder of its split CSVs)."""
    return shlex.quote(os.path.dirname(output.splits[0]) or ".")


def synth_threads():
    """Worker processes of the synthesize rule."""
    return config["synthetic"]["threads"]


def download_spec():
    """`dataset.download` (archives, credential variables) as one JSON argument."""
    return as_json(config["dataset"]["download"])


def manifest_inputs(wildcards):
    """The layout check, and the split CSVs where they exist before the DAG runs (not for url:
    the download rule fetches them)."""
    inputs = {"ok": PATHS["dataset_ok"]}
    if SOURCE != "url":
        inputs["splits"] = [raw(path) for path in SPLIT_CSVS]
    return inputs


def report_transcript_inputs():
    """The merged transcript table of every split of every set a run reads, for the data report."""
    return [
        path
        for splits in PLAN.report_transcripts().values()
        for path in splits.values()
    ]


def report_transcript_args():
    """The same tables as `--transcripts` arguments: SET:SPLIT=PATH each."""
    return " ".join(
        shlex.quote(f"{tset}:{split}={path}")
        for tset, splits in PLAN.report_transcripts().items()
        for split, path in splits.items()
    )


def paper_reference_flag():
    """``--paper-reference`` for a real dataset, so Table 1 shows the paper's numbers beside ours."""
    return "--paper-reference" if SOURCE != "synthetic" else ""


def dataset_targets():
    """Final outputs of workflow/rules/dataset.smk (the default target needs them): the manifest,
    the data report and Table 1 (CSV and Markdown)."""
    return [
        PATHS["manifest"],
        PATHS["data_report"],
        PATHS["table1_csv"],
        PATHS["table1_md"],
    ]

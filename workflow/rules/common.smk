"""Shared by every .smk file. Validated config, output path patterns, shards, helpers.

Every output path of the workflow is built here, from ``config``; rules and input functions use
these patterns and never spell paths of their own. Library code receives these paths as arguments.
"""

import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from emibench.config_files import resolve_dataset_keys, take_whole_sections
from emibench.config_schema import ConfigSchemaError, check_config, fill_defaults
from emibench.failures import explain as explain_failures
from emibench.plan import Plan
from emibench.plan.jobs import to_json
from emibench.settings import ConfigError

min_version("8.0")

take_whole_sections(config, workflow.overwrite_configfiles or [])
try:
    check_config(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")
except ConfigSchemaError as err:
    raise WorkflowError(str(err)) from None
fill_defaults(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")
try:
    resolve_dataset_keys(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

DATASET = config["dataset"]["name"]
ROOT = config["dataset"]["root"]
SOURCE = config["dataset"]["source"]
R = f"results/{DATASET}"
SPLITS = ["train", "valid", "test"]
ENV = "../../envs/emibench.yaml"
# The locked environment; its sha256 goes into the metrics (emibench collect --lock).
LOCK = str(Path(workflow.basedir) / "envs" / "requirements.lock")
# The checkout that ENV's pip lines install (conda reads a copy of ENV under .snakemake/conda/).
os.environ.update(EMIBENCH_SOURCE=workflow.basedir)

PATHS = {
    # the dataset root (inputs of a real set, outputs of the synthesize rule)
    "split_csv": f"{ROOT}/{{split}}_split.csv",
    "raw_dir": f"{ROOT}/raw",
    "audio_dir": f"{ROOT}/audio",
    "synthetic_test_labels": f"{ROOT}/test_labels.csv",
    "latents": f"{ROOT}/latents.csv",
    "phrases": f"{ROOT}/phrases.txt",
    # dataset.smk
    "manifest": f"{R}/manifest.tsv",
    "dataset_ok": f"{R}/dataset/layout_ok.json",
    "table1_csv": f"{R}/tables/table1.csv",
    "table1_md": f"{R}/tables/table1.md",
    "data_report": f"{R}/dataset/data_report.md",
    # preprocess.smk
    "frames": f"{R}/frames/{{split}}/{{shard}}.h5",
    "audio": f"{R}/audio/{{split}}/{{shard}}.h5",
    "transcript_shard": f"{R}/transcripts/{{split}}/{{shard}}.tsv",
    "transcripts": f"{R}/transcripts/{{split}}.tsv",
    "set_transcript_shard": f"{R}/transcripts/sets/{{tset}}/{{split}}/{{shard}}.tsv",
    "set_transcripts": f"{R}/transcripts/sets/{{tset}}/{{split}}.tsv",
    "tiny_whisper": "results/models/whisper",
    # features.smk
    "local_models": "results/models/{role}",
    "feature_dir": f"{R}/features/{{featset}}/{{modality}}/{{split}}",
    "features": f"{R}/features/{{featset}}/{{modality}}/{{split}}/{{shard}}.h5",
    "stage1_ckpt": f"{R}/stage1/{{pair}}/seed{{seed}}/checkpoint.pt",
    "stage1_log": f"{R}/stage1/{{pair}}/seed{{seed}}/log.tsv",
    # train.smk
    "run_dir": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}",
    "run_metrics": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/metrics.json",
    "run_file": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/{{name}}",
    "submission": f"{R}/submission/{{system}}.csv",
    "submission_info": f"{R}/submission/{{system}}.json",
    # report.smk
    "results_table": f"{R}/results.tsv",
    "metrics": f"{R}/metrics.json",
    "table": f"{R}/tables/{{table}}.{{ext}}",
    "figure": f"{R}/figures/{{figure}}.png",
    # robustness.smk: a condition's media, features and predictions of every run
    "condition_media_dir": f"{R}/robustness/{{condition}}/{{store}}/{{split}}",
    "condition_frames": f"{R}/robustness/{{condition}}/frames/{{split}}/{{shard}}.h5",
    "condition_audio": f"{R}/robustness/{{condition}}/audio/{{split}}/{{shard}}.h5",
    "condition_transcripts": f"{R}/robustness/{{condition}}/transcripts/{{split}}/{{shard}}.tsv",
    "condition_set_transcripts": (
        f"{R}/robustness/{{condition}}/transcripts/sets/{{tset}}/{{split}}/{{shard}}.tsv"
    ),
    "condition_feature_dir": f"{R}/robustness/{{condition}}/features/{{featset}}/{{modality}}/{{split}}",
    "condition_features": (
        f"{R}/robustness/{{condition}}/features/{{featset}}/{{modality}}/{{split}}/{{shard}}.h5"
    ),
    "condition_run_dir": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/robustness/{{condition}}",
    "condition_results": f"{R}/robustness/{{condition}}/results.tsv",
    "robustness_results": f"{R}/robustness/results.tsv",
    "robustness_metrics": f"{R}/robustness/metrics.json",
    "report_nb": f"{R}/report/report.ipynb",
    "report_html": f"{R}/report/report.html",
}


def log_path(rule_name, *wildcard_names):
    """``results/<dataset>/logs/<rule>/<w1>_<w2>.log`` for a rule's ``log:``."""
    stem = "_".join(f"{{{w}}}" for w in wildcard_names) or rule_name
    return f"{R}/logs/{rule_name}/{stem}.log"


def bench_path(rule_name, *wildcard_names):
    """``results/<dataset>/benchmarks/<rule>/<w1>_<w2>.tsv`` for a rule's ``benchmark:``."""
    stem = "_".join(f"{{{w}}}" for w in wildcard_names) or rule_name
    return f"{R}/benchmarks/{rule_name}/{stem}.tsv"


def shards(split):
    """Shard names of a split, ``00`` .. ``NN``, from ``config['shards'][split]``."""
    return PLAN.layout.shards(split)


def all_shards(pattern, **wildcards):
    """Every split's every shard of ``pattern``."""
    return [
        p
        for split in SPLITS
        for p in expand(pattern, split=split, shard=shards(split), **wildcards)
    ]


def as_json(value):
    """A config value as one JSON word for a shell command, quoted for the shell."""
    text = json.dumps(value, separators=(",", ":")).replace("'", "'\\''")
    return f"'{text}'"


def job_arg(job):
    """A job spec (emibench.plan.jobs) as one JSON word for ``--job``, quoted for the shell."""
    return shlex.quote(to_json(job))


def step_resource(step, key):
    """``resources.steps.<step>.<key>`` of the config, else the ``resources.<key>`` default."""
    return config["resources"]["steps"].get(step, {}).get(key, config["resources"][key])


def raw(path):
    """Raw dataset inputs: ``ancient()`` because DVC checkouts reset modification times."""
    return ancient(path)


def jobs_run_in_conda():
    """True under ``--sdm conda``: the jobs' environment, not this one, holds the models."""
    settings = getattr(workflow, "deployment_settings", None)
    return "CONDA" in {m.name for m in getattr(settings, "deployment_method", ())}


# Every job of the DAG as a typed spec, computed once (emibench.plan); input functions and
# params below look jobs up in it. Model configs are checked against the models here unless the
# jobs run in their own conda environment (which may alone hold a plugin model); a check that
# passed is remembered under .snakemake/, so an unchanged config skips importing torch.
try:
    PLAN = Plan(
        config,
        PATHS,
        check_models_now=not jobs_run_in_conda(),
        model_checks=".snakemake/emibench/model-checks",
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None

"""Shared by every .smk file. Validated config, output path patterns, shards, helpers.

Every output path of the workflow is built here, from ``config``; rules and input functions use
these patterns and never spell paths of their own. Library code receives these paths as arguments.
"""

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("8.0")

validate(config, "../../config/schema/config.schema.yaml")

DATASET = config["dataset"]["name"]
ROOT = config["dataset"]["root"]
R = f"results/{DATASET}"
SPLITS = ["train", "valid", "test"]
ENV = "../../envs/emibench.yaml"
# The checkout that ENV's pip lines install (conda reads a copy of ENV under .snakemake/conda/).
os.environ.update(EMIBENCH_SOURCE=workflow.basedir)

if config["dataset"]["source"] == "local" and not Path(ROOT).is_dir():
    raise WorkflowError(
        f"config key dataset.root: {ROOT!r} is not a directory; "
        "point it at your Hume-Vidmimic2 root (with train_split.csv, valid_split.csv and raw/)"
    )


PATHS = {
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
    # features.smk
    "local_models": "results/models/{role}",
    "features": f"{R}/features/{{featset}}/{{modality}}/{{split}}/{{shard}}.h5",
    "stage1_ckpt": f"{R}/stage1/{{pair}}/checkpoint.pt",
    "stage1_log": f"{R}/stage1/{{pair}}/log.tsv",
    # train.smk
    "run_dir": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}",
    "run_metrics": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/metrics.json",
    "submission": f"{R}/submission/{{system}}.csv",
    # report.smk
    "results_table": f"{R}/results.tsv",
    "metrics": f"{R}/metrics.json",
    "table": f"{R}/tables/{{table}}.{{ext}}",
    "figure": f"{R}/figures/{{figure}}.png",
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
    return [f"{i:02d}" for i in range(config["shards"][split])]


def per_shard(pattern, split, **wildcards):
    """Every shard's path of ``pattern`` for one split (other wildcards filled from ``wildcards``)."""
    return expand(
        pattern, split=split, shard=shards(split), allow_missing=True, **wildcards
    )


def all_shards(pattern, **wildcards):
    """Every split's every shard of ``pattern``."""
    return [p for split in SPLITS for p in per_shard(pattern, split, **wildcards)]


def as_json(value):
    """A config value as one JSON word for a shell command, quoted for the shell."""
    text = json.dumps(value, separators=(",", ":")).replace("'", "'\\''")
    return f"'{text}'"


def step_resource(step, key):
    """``resources.steps.<step>.<key>`` of the config, else the ``resources.<key>`` default."""
    return config["resources"]["steps"].get(step, {}).get(key, config["resources"][key])


def raw(path):
    """Raw dataset inputs: ``ancient()`` because DVC checkouts reset modification times."""
    return ancient(path)

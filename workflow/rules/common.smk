"""Shared by every .smk file. Validated config, output path patterns, shards, helpers.

Every output path of the workflow is built here, from ``config``; rules and input functions use
these patterns and never spell paths of their own. Library code receives these paths as arguments.
"""

import json
import os
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from emibench.config_schema import fill_defaults

min_version("8.0")

# A config file given on the command line is laid over config/config.yaml key by key; the systems
# it trains, the tables it reports and the robustness conditions it runs are its own, not added
# to the demo's.
WHOLE_SECTIONS = (
    ("train", "systems"),
    ("report", "tables"),
    ("robustness", "conditions"),
)


def take_whole_sections(config, configfiles):
    """Replace each WHOLE_SECTIONS entry by that of the last config file that sets it."""
    for section, key in WHOLE_SECTIONS:
        for path in configfiles:
            given = (yaml.safe_load(Path(path).read_text()) or {}).get(section) or {}
            if key in given:
                config.setdefault(section, {})[key] = given[key]


take_whole_sections(config, workflow.overwrite_configfiles or [])
validate(config, "../../config/schema/config.schema.yaml")
fill_defaults(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")

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

if SOURCE == "local" and not Path(ROOT).is_dir():
    raise WorkflowError(
        f"config key dataset.root: {ROOT!r} is not a directory; "
        "point it at your Hume-Vidmimic2 root (with train_split.csv, valid_split.csv and raw/)"
    )


def resolve_source_keys(config, root, source):
    """Keys whose value follows the dataset source (``auto``), resolved once, here.

    dataset.test_labels: the synthetic set's own test_labels.csv, hidden ("") elsewhere.
    preprocess.asr.vocabulary: PocketSphinx on the synthetic phrase bank, else its full English
    model. A value that cannot hold for this source is an error naming the key.
    """
    dataset, asr = config["dataset"], config["preprocess"]["asr"]
    if dataset["test_labels"] == "auto":
        dataset["test_labels"] = (
            f"{root}/test_labels.csv" if source == "synthetic" else ""
        )
    elif (
        dataset["test_labels"]
        and source == "local"
        and not Path(dataset["test_labels"]).is_file()
    ):
        raise WorkflowError(
            f"config key dataset.test_labels: {dataset['test_labels']!r} is not a file; "
            "give the test labels CSV, or '' when they are hidden"
        )
    if asr["vocabulary"] == "auto":
        asr["vocabulary"] = "phrase_bank" if source == "synthetic" else "full"
    elif (
        asr["backend"] == "pocketsphinx"
        and asr["vocabulary"] == "phrase_bank"
        and source != "synthetic"
        and not Path(root, "phrases.txt").is_file()
    ):
        raise WorkflowError(
            "config key preprocess.asr.vocabulary: phrase_bank needs a phrase bank "
            f"{root}/phrases.txt, which only the synthetic set has; use auto or full"
        )


resolve_source_keys(config, ROOT, SOURCE)


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
    "tiny_whisper": "results/models/whisper",
    # features.smk
    "local_models": "results/models/{role}",
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
    "condition_frames": f"{R}/robustness/{{condition}}/frames/{{split}}/{{shard}}.h5",
    "condition_audio": f"{R}/robustness/{{condition}}/audio/{{split}}/{{shard}}.h5",
    "condition_transcripts": f"{R}/robustness/{{condition}}/transcripts/{{split}}/{{shard}}.tsv",
    "condition_features": (
        f"{R}/robustness/{{condition}}/features/{{featset}}/{{modality}}/{{split}}/{{shard}}.h5"
    ),
    "condition_run_file": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/robustness/{{condition}}/{{name}}",
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

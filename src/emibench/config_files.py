"""From config files to the config the plan reads: merged, whole sections kept whole, validated
against config/schema/, defaults filled and the ``auto`` keys resolved.

The workflow (workflow/rules/common.smk) runs these steps on Snakemake's merged config; tests
and tools run :func:`load_config` on the same files.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from emibench.config_schema import check_config, fill_defaults
from emibench.settings import ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema" / "config.schema.yaml"
# A config file given on the command line is laid over config/config.yaml key by key; the systems
# it trains, the tables it reports and the robustness conditions it runs are its own, not added
# to the demo's.
WHOLE_SECTIONS = (
    ("train", "systems"),
    ("report", "tables"),
    ("robustness", "conditions"),
)


def take_whole_sections(config: dict, configfiles: Iterable[str | Path]) -> None:
    """Replace each WHOLE_SECTIONS entry by that of the last config file that sets it (a section
    that is not a mapping is left to the schema check, which names it)."""
    for section, key in WHOLE_SECTIONS:
        for path in configfiles:
            given = (yaml.safe_load(Path(path).read_text()) or {}).get(section) or {}
            merged = config.setdefault(section, {})
            if isinstance(given, dict) and isinstance(merged, dict) and key in given:
                merged[key] = given[key]


def resolve_dataset_keys(config: dict) -> None:
    """Check the dataset root and resolve the keys that follow the dataset source (``auto``),
    in place; a value that cannot hold is a ConfigError naming the key.

    dataset.test_labels: the synthetic set's own test_labels.csv, hidden ("") elsewhere.
    preprocess.asr.vocabulary: PocketSphinx on the synthetic phrase bank, else its full English
    model.
    """
    dataset, asr = config["dataset"], config["preprocess"]["asr"]
    root, source = dataset["root"], dataset["source"]
    if source == "local" and not Path(root).is_dir():
        raise ConfigError(
            f"config key dataset.root: {root!r} is not a directory; "
            "point it at your Hume-Vidmimic2 root (with train_split.csv, valid_split.csv and raw/)"
        )
    if dataset["test_labels"] == "auto":
        dataset["test_labels"] = f"{root}/test_labels.csv" if source == "synthetic" else ""
    elif (
        dataset["test_labels"] and source == "local" and not Path(dataset["test_labels"]).is_file()
    ):
        raise ConfigError(
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
        raise ConfigError(
            "config key preprocess.asr.vocabulary: phrase_bank needs a phrase bank "
            f"{root}/phrases.txt, which only the synthetic set has; use auto or full"
        )


def merge(base: dict, overlay: Mapping[str, Any]) -> dict:
    """``overlay`` laid over ``base`` key by key (nested mappings merged), as Snakemake merges
    config files; returns ``base``."""
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_config(*files: str | Path, schema: str | Path = SCHEMA) -> dict:
    """The config of config files given in order (the first is the base, as
    ``--configfile`` lays the others over config/config.yaml), ready for the plan."""
    config: dict = {}
    for path in files:
        merge(config, yaml.safe_load(Path(path).read_text()) or {})
    take_whole_sections(config, files[1:])
    check_config(config, schema)
    fill_defaults(config, schema)
    resolve_dataset_keys(config)
    return config

"""The plan of a config as the workflow builds it, without Snakemake: the config files loaded as
common.smk loads them, and PATHS taken from common.smk itself (its one definition)."""

from __future__ import annotations

import ast
from pathlib import Path

from emibench.config_files import load_config, merge
from emibench.plan import Plan

REPO = Path(__file__).resolve().parents[1]


def workflow_paths(config: dict) -> dict[str, str]:
    """``PATHS`` of workflow/rules/common.smk for this config (its f-strings read R and ROOT)."""
    tree = ast.parse((REPO / "workflow/rules/common.smk").read_text())
    node = next(
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PATHS"
    )
    scope = {"R": f"results/{config['dataset']['name']}", "ROOT": config["dataset"]["root"]}
    return eval(compile(ast.Expression(node.value), "common.smk", "eval"), scope)


def plan_of(*files: str | Path, change: dict | None = None, check_models: bool = True) -> Plan:
    """The plan of config files laid over config/config.yaml, as `--configfile` lays them, with
    ``change`` merged key by key into the loaded config."""
    config = merge(load_config(REPO / "config/config.yaml", *files), change or {})
    return Plan(config, workflow_paths(config), check_models)

"""The shipped `train` config sections: valid, and every run they define resolves and builds.

The run resolution tested is the workflow's own (workflow/rules/functions/train.smk, plain
Python), run here with stand-ins for the Snakemake helpers it uses.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.io import expand

from emibench.models.registry import build_model
from emibench.train.stacking import StackSpec
from emibench.train.trainer import RunSpec, TrainConfig

REPO = Path(__file__).resolve().parents[1]
DIMS = {
    "config.yaml": {"V": 64, "A": 64, "T": 384},
    "vidmimic2.yaml": {"V": 768, "A": 1024, "T": 768},
}


def _functions(config: dict) -> dict:
    R = "results/x"
    namespace = {
        "config": config,
        "R": R,
        "PATHS": {
            "run_dir": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}",
            "run_metrics": f"{R}/runs/{{system}}/{{variant}}/seed{{seed}}/metrics.json",
            "submission": f"{R}/submission/{{system}}.csv",
            "features": f"{R}/features/{{featset}}/{{modality}}/{{split}}/{{shard}}.h5",
        },
        "expand": expand,
        "WorkflowError": RuntimeError,
        "all_shards": lambda pattern, **w: [pattern.format(split="train", shard="00", **w)],
    }
    code = (REPO / "workflow/rules/functions/train.smk").read_text()
    exec(compile(code, "functions/train.smk", "exec"), namespace)  # noqa: S102 (the workflow's own code)
    return namespace


@pytest.mark.parametrize("name", ["config.yaml", "vidmimic2.yaml"])
def test_every_run_resolves_and_builds(name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    schema = yaml.safe_load((REPO / "config/schema/train.schema.yaml").read_text())
    jsonschema.validate(config["train"], schema)
    f = _functions(config)
    systems = config["train"]["systems"]
    n_runs = 0
    for system, spec in systems.items():
        for variant in spec["variants"]:
            resolved = f["run_config"](system, variant)
            if f["is_fusion"](system) or f["is_stacked"](system):
                for member in f["members"](system, variant):
                    s, v = member.split("/")
                    assert s in f["TRAINED"] and v in systems[s]["variants"], member
                if f["is_stacked"](system):
                    StackSpec.from_config(system, variant, 0, resolved)
                continue
            run = RunSpec.from_config(system, variant, 0, resolved)
            build_model(run.model, DIMS[name], run.modalities)
            n_runs += 1
    seeds = len(config["train"]["seeds"])
    targets = f["train_targets"]()
    assert (
        len(targets)
        == len(set(targets))
        == seeds * sum(len(s["variants"]) for s in systems.values()) + len(systems)
    )
    assert n_runs >= 23  # baselines, 12 DSCMN variants, TAEMI, 8 concat_mlp and pooled_mlp


def test_variant_overrides_and_store_inputs():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    f = _functions(config)
    resolved = f["run_config"]("dscmn", "VAT_stage1_no-gate")
    assert resolved["model"]["gate"] is False and resolved["modalities"] == "VAT"
    assert f["run_config"]("dscmn", "V_official")["features"] == "official"
    baseline = f["run_config"]("baseline_vit_gru", "V_official")["train"]
    assert (
        baseline["optimizer"] == "adam"
        and baseline["epochs"] == config["train"]["defaults"]["epochs"]
    )

    class W:
        system, variant = "dscmn", "VT_stage1"

    assert f["run_stores"]("A")(W) == []
    assert f["run_stores"]("V")(W) == ["results/x/features/stage1/visual/train/00.h5"]


def test_a_bad_model_key_fails_before_any_job_naming_it():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["train"]["systems"]["dscmn"]["variants"]["V_stage1"]["model"] = {"fusoin": "mean"}
    with pytest.raises(RuntimeError, match=r"dscmn.variants.V_stage1: .*\['fusoin'\]"):
        _functions(config)
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["train"]["systems"]["late_fusion"]["stack"]["members"][0] = "concat_mlp/V_frozen"
    with pytest.raises(RuntimeError, match="concat_mlp/V_frozen"):
        _functions(config)


def test_library_defaults_are_the_documented_ones():
    """The schema's train settings describe the library's defaults; keep them in step."""
    schema = yaml.safe_load((REPO / "config/schema/train.schema.yaml").read_text())
    described = schema["$defs"]["train_settings"]["properties"]
    defaults = TrainConfig()
    assert set(described) == set(vars(defaults))
    for key, spec in described.items():
        value = getattr(defaults, key)
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert f"(default {shown})" in spec["description"], key

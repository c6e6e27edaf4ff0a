"""The shipped configs' Stage II runs, as the real workflow writes their commands.

A forced Snakemake dry run of each config gives every job's shell command; each ``emibench
train`` command is parsed by emibench's own CLI, its runs are resolved and their models built,
and each store it reads must be written by one of the dry run's ``emibench features`` jobs.
"""

from __future__ import annotations

import pytest
import yaml

from emibench.models.inputs import input_keys
from emibench.models.registry import build_model, on_features, raw_modalities
from emibench.train.cli import parse_stores
from emibench.train.stacking import StackSpec
from emibench.train.trainer import RunSpec, TrainConfig
from fake_vidmimic2 import make_root
from workflow_commands import REPO, dry_run, dry_run_commands, steps

DIMS = {
    "config.yaml": {"V": 512, "A": 128, "T": 384},
    "vidmimic2.yaml": {"V": 768, "A": 1024, "T": 768},
}


@pytest.fixture(scope="module")
def commands(tmp_path_factory) -> dict[str, list[str]]:
    work = tmp_path_factory.mktemp("configs")
    root = make_root(work / "root")
    real = work / "real.yaml"
    real.write_text(yaml.safe_dump({"dataset": {"root": str(root)}}))
    return {
        "config.yaml": dry_run_commands(),
        "vidmimic2.yaml": dry_run_commands(REPO / "config" / "vidmimic2.yaml", real),
    }


def _media_outputs(commands: list[str]) -> dict[str, set[str]]:
    """The audio stores and the per-shard transcript tables the dry run's jobs write."""
    audio = {args.out for args in steps(commands, "audio")}
    text = {args.out for args in steps(commands, "transcribe")}
    return {"wave": audio, "text": text}


def _written_stores(commands: list[str]) -> set[str]:
    out = set()
    for args in steps(commands, "features"):
        out.update(args.visual_out + args.audio_out + args.text_out)
    return out


@pytest.mark.parametrize("name", ["config.yaml", "vidmimic2.yaml"])
def test_every_train_command_parses_resolves_and_builds(commands, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    jobs = steps(commands[name], "train")
    systems = config["train"]["systems"]
    trained = {
        (s, v)
        for s, spec in systems.items()
        if "fuse" not in spec and "stack" not in spec
        for v in spec["variants"]
    }
    assert {(a.system, a.variant) for a in jobs} == trained
    written = _written_stores(commands[name])
    media = _media_outputs(commands[name])
    hidden = not config["dataset"]["test_labels"]
    for args in jobs:
        assert args.seeds == config["train"]["seeds"] and len(args.out_dirs) == len(args.seeds)
        assert (args.test_labels == "") == hidden
        stores = parse_stores(args.stores, args.seeds)
        for seed in args.seeds:
            spec = RunSpec.from_config(args.system, args.variant, seed, args.config)
            raw = raw_modalities(spec.model, spec.modalities)
            assert sorted(stores[seed]) == sorted(input_keys(spec.modalities, raw))
            for key, paths in stores[seed].items():
                where = f"{args.system}/{args.variant}: {key}"
                if key in ("wave", "text"):
                    assert set(paths) <= media[key] and len(paths) == len(set(paths)), where
                    continue
                assert set(paths) <= written, f"{where}: unwritten store"
                assert f"/features/{spec.features}" in paths[0] or spec.features == "stage1"
            build_model(on_features(spec.model), DIMS[name], spec.modalities)


def test_variants_layer_over_their_system(commands):
    jobs = {(a.system, a.variant): a for a in steps(commands["config.yaml"], "train")}
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    no_gate = RunSpec.from_config("dscmn", "x", 0, jobs["dscmn", "VAT_stage1_no-gate"].config)
    assert no_gate.model["gate"] is False and no_gate.modalities == "VAT"
    assert no_gate.train.audio_rate == "native"
    pooled = jobs["dscmn", "VAT_stage1_audio-5fps"].config
    assert RunSpec.from_config("dscmn", "x", 0, pooled).train.audio_rate == "visual"
    baseline = RunSpec.from_config("b", "v", 0, jobs["baseline_vit_gru", "V_official"].config)
    assert baseline.train.optimizer == "adam"
    assert baseline.train.epochs == config["train"]["defaults"]["epochs"]
    vt = parse_stores(jobs["dscmn", "VT_stage1"].stores, [0, 1, 2])
    assert sorted(vt[0]) == ["T", "V"] and "/features/stage1_seed0/visual/" in vt[0]["V"][0]
    e2e = jobs["taemi", "VAT_taemi"]
    model = RunSpec.from_config("taemi", "x", 0, e2e.config).model
    assert model["audio_encoder"] == config["encoders"]["taemi_audio"]  # keys resolved to specs
    assert model["text_encoder"] == config["encoders"]["taemi_text"]
    stores = parse_stores(e2e.stores, [0, 1, 2])[0]
    assert sorted(stores) == ["V", "text", "wave"]
    assert "/features/taemi/visual/" in stores["V"][0] and "/audio/" in stores["wave"][0]
    assert all(p.endswith(".tsv") for p in stores["text"])
    frozen = parse_stores(jobs["taemi", "VAT_stage1_frozen"].stores, [0, 1, 2])[0]
    assert sorted(frozen) == ["A", "T", "V"]


def test_stage1_seeds_pair_with_run_seeds(commands):
    jobs = {(a.system, a.variant): a for a in steps(commands["vidmimic2.yaml"], "train")}
    stores = parse_stores(jobs["dscmn", "VAT_stage1"].stores, [0, 1, 2])
    for seed in (0, 1, 2):
        assert f"/features/stage1_seed{seed}/" in stores[seed]["V"][0]
    frozen = parse_stores(jobs["dscmn", "VAT_frozen"].stores, [0, 1, 2])
    assert frozen[0] == frozen[2] and "/features/frozen/" in frozen[0]["A"][0]


@pytest.mark.parametrize("name", ["config.yaml", "vidmimic2.yaml"])
def test_every_stack_command_reads_members_of_its_own_seed(commands, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    stacked = {s for s, spec in config["train"]["systems"].items() if "stack" in spec}
    jobs = steps(commands[name], "stack")
    assert {a.system for a in jobs} == stacked and jobs
    for args in jobs:
        members = {int(group[0]): group[1:] for group in args.members}
        for seed in args.seeds:
            spec = StackSpec.from_config(args.system, args.variant, seed, args.config)
            assert len(members[seed]) == len(spec.stack.members)
            assert all(run.endswith(f"/seed{seed}") for run in members[seed])


def test_a_bad_model_key_fails_before_any_job_naming_it(tmp_path):
    typo = tmp_path / "typo.yaml"
    variants = {"V_stage1": {"modalities": "V", "model": {"fusoin": "mean"}}}
    system = {"features": "stage1", "modalities": "VAT", "variants": variants}
    typo.write_text(yaml.safe_dump({"train": {"systems": {"dscmn": system}}}))
    done = dry_run(REPO / "config/config.yaml", typo)
    assert done.returncode != 0
    message = done.stderr + done.stdout
    assert "dscmn.variants.V_stage1" in message and "fusoin" in message


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


def test_overrides_cap_every_run_of_a_rehearsal(tmp_path):
    """train.overrides lays over system and variant settings: TAEMI's 50 epochs become 1."""
    root = make_root(tmp_path / "root")
    real = tmp_path / "real.yaml"
    caps = {"epochs": 1, "max_train_batches": 2, "batch_size": 2}
    real.write_text(yaml.safe_dump({"dataset": {"root": str(root)}, "train": {"overrides": caps}}))
    commands = dry_run_commands(REPO / "config" / "vidmimic2.yaml", real)
    jobs = steps(commands, "train")
    assert ("taemi", "VAT_taemi") in {(a.system, a.variant) for a in jobs}
    for args in jobs:
        settings = RunSpec.from_config(args.system, args.variant, 0, args.config).train
        assert (settings.epochs, settings.max_train_batches, settings.batch_size) == (1, 2, 2)

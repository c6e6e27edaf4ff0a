"""The shipped configs' Stage II runs, as the real workflow writes their commands.

A forced Snakemake dry run of each config gives every job's shell command; each ``emibench
train`` command is parsed by emibench's own CLI and its job spec, its runs are resolved and
their models built, and each store it reads must be written by one of the dry run's jobs.
"""

from __future__ import annotations

import pytest
import yaml

from emibench.modalities import input_keys
from emibench.models.registry import build_model, on_features, raw_modalities
from emibench.plan.jobs import FeatureJob, RunsJob, load_job
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


def jobs(commands: list[str], step: str, kind=RunsJob) -> list:
    """The job specs of every ``emibench <step>`` command."""
    return [load_job(kind, args.job) for args in steps(commands, step)]


def _media_outputs(commands: list[str]) -> dict[str, set[str]]:
    """The audio stores and the per-split transcript tables the dry run's jobs write."""
    audio = {args.out for args in steps(commands, "audio")}
    merged = {c.split(" --out ")[1].split()[0] for c in commands if "merge-transcripts" in c}
    return {"wave": audio, "text": merged}


def _written_stores(commands: list[str]) -> set[str]:
    return {
        out.folder for job in jobs(commands, "features", FeatureJob) for out in job.outputs.values()
    }


@pytest.mark.parametrize("name", ["config.yaml", "vidmimic2.yaml"])
def test_every_train_command_parses_resolves_and_builds(commands, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    train = jobs(commands[name], "train")
    systems = config["train"]["systems"]
    trained = {
        (s, v)
        for s, spec in systems.items()
        if "fuse" not in spec and "stack" not in spec
        for v in spec["variants"]
    }
    assert {(j.runs[0].system, j.runs[0].variant) for j in train} == trained
    written = _written_stores(commands[name])
    media = _media_outputs(commands[name])
    hidden = not config["dataset"]["test_labels"]
    for job in train:
        assert [r.seed for r in job.runs] == config["train"]["seeds"]
        assert (job.test_labels == "") == hidden
        for run in job.runs:
            spec = RunSpec.from_config(run.system, run.variant, run.seed, run.config)
            raw = raw_modalities(spec.model, spec.modalities)
            assert sorted(run.stores) == sorted(input_keys(spec.modalities, raw))
            for key, paths in run.stores.items():
                where = f"{run.system}/{run.variant}: {key}"
                if key in ("wave", "text"):
                    assert set(paths) <= media[key] and len(paths) == len(set(paths)), where
                    continue
                assert set(paths) <= written, f"{where}: unwritten store"
                assert f"/features/{spec.features}" in paths[0] or spec.features == "stage1"
            build_model(on_features(spec.model), DIMS[name], spec.modalities)


def _by_run(commands: list[str], step: str = "train") -> dict:
    return {(j.runs[0].system, j.runs[0].variant): j for j in jobs(commands, step)}


def test_variants_layer_over_their_system(commands):
    train = _by_run(commands["config.yaml"])
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())

    def spec(system, variant, seed=0):
        run = train[system, variant].runs[seed]
        return RunSpec.from_config(system, variant, run.seed, run.config)

    no_gate = spec("dscmn", "VAT_stage1_no-gate")
    assert no_gate.model["gate"] is False and no_gate.modalities == "VAT"
    assert no_gate.train.audio_rate == "native"
    assert spec("dscmn", "VAT_stage1_audio-5fps").train.audio_rate == "visual"
    baseline = spec("baseline_vit_gru", "V_official")
    assert baseline.train.optimizer == "adam"
    assert baseline.train.epochs == config["train"]["defaults"]["epochs"]
    vt = train["dscmn", "VT_stage1"].runs[0].stores
    assert sorted(vt) == ["T", "V"] and "/features/stage1_seed0/visual/" in vt["V"][0] + "/"
    model = spec("taemi", "VAT_taemi").model
    assert model["audio_encoder"] == config["encoders"]["taemi_audio"]  # keys resolved to specs
    assert model["text_encoder"] == config["encoders"]["taemi_text"]
    stores = train["taemi", "VAT_taemi"].runs[0].stores
    assert sorted(stores) == ["V", "text", "wave"]
    assert "/features/taemi/visual/" in stores["V"][0] + "/" and "/audio/" in stores["wave"][0]
    assert all(p.endswith(".tsv") for p in stores["text"]) and len(stores["text"]) == 3
    assert sorted(train["taemi", "VAT_stage1_frozen"].runs[0].stores) == ["A", "T", "V"]


def test_stage1_seeds_pair_with_run_seeds(commands):
    train = _by_run(commands["vidmimic2.yaml"])
    for run in train["dscmn", "VAT_stage1"].runs:
        assert f"/features/stage1_seed{run.seed}/" in run.stores["V"][0]
    frozen = train["dscmn", "VAT_frozen"].runs
    assert frozen[0].stores == frozen[2].stores and "/features/frozen/" in frozen[0].stores["A"][0]


@pytest.mark.parametrize("name", ["config.yaml", "vidmimic2.yaml"])
def test_every_stack_command_reads_members_of_its_own_seed(commands, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    stacked = {s for s, spec in config["train"]["systems"].items() if "stack" in spec}
    stack = jobs(commands[name], "stack")
    assert {j.runs[0].system for j in stack} == stacked and stack
    for job in stack:
        for run in job.runs:
            spec = StackSpec.from_config(run.system, run.variant, run.seed, run.config)
            assert len(run.members) == len(spec.stack.members)
            assert all(member.endswith(f"/seed{run.seed}") for member in run.members)


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
    train = _by_run(commands)
    assert ("taemi", "VAT_taemi") in train
    for job in train.values():
        run = job.runs[0]
        settings = RunSpec.from_config(run.system, run.variant, 0, run.config).train
        assert (settings.epochs, settings.max_train_batches, settings.batch_size) == (1, 2, 2)


def test_a_run_names_its_transcript_set_only_where_its_model_encodes_text():
    """transcripts: <set> picks the raw text a model that encodes text itself reads (TAEMI end
    to end); a model on text features cannot take one."""
    from emibench.settings import ConfigError

    taemi = {"name": "taemi", "text_encoder": {"name": "bert-base-uncased"}}
    config = {"features": "taemi", "modalities": "VAT", "model": taemi, "transcripts": "taemi"}
    spec = RunSpec.from_config("taemi", "VAT_taemi", 0, config)
    assert spec.transcripts == "taemi"
    on_features = {**config, "features": "stage1", "model": {"name": "taemi"}}
    with pytest.raises(ConfigError, match="transcripts 'taemi' applies only to a model that"):
        RunSpec.from_config("taemi", "VAT_stage1_frozen", 0, on_features)
    without = {k: v for k, v in config.items() if k != "transcripts"}
    assert RunSpec.from_config("taemi", "VAT_taemi", 0, without).transcripts == "default"
    assert TrainConfig().select == "best"

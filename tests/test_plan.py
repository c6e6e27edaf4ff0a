"""The plan layer on plain configs (no dry run): runs, stores, feature jobs, conditions, checks."""

from __future__ import annotations

import json
import pickle

import pytest
import yaml

from emibench.plan.jobs import FeatureJob, PredictJob, RunsJob, load_job, to_json
from emibench.settings import ConfigError
from plan_fakes import REPO, plan_of


@pytest.fixture(scope="module")
def demo():
    return plan_of()


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    (root / "vit").mkdir()
    with open(root / "vit" / "00000.pkl", "wb") as f:
        pickle.dump([[0.0]], f)
    path = tmp_path_factory.mktemp("cfg") / "root.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"root": str(root)}}))
    return plan_of(REPO / "config/vidmimic2.yaml", path)


def test_every_variant_resolves_with_its_kind(demo):
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    systems = config["train"]["systems"]
    assert demo.systems("fuse") == ["baseline_fusion"]
    assert demo.systems("stack") == ["late_fusion"]
    assert set(demo.systems("model")) == set(systems) - {"baseline_fusion", "late_fusion"}
    n_variants = sum(len(s["variants"]) for s in systems.values())
    assert len(demo.runs()) == n_variants * len(config["train"]["seeds"])
    kinds = [demo.variants[s, v].kind for s, v, _ in demo.runs()]
    assert kinds == sorted(kinds, key=["model", "fuse", "stack"].index), "trained runs first"
    no_gate = demo.variants["dscmn", "VAT_stage1_no-gate"].config
    assert no_gate["model"]["gate"] is False and no_gate["train"]["audio_rate"] == "native"
    taemi = demo.variants["taemi", "VAT_taemi"]
    assert taemi.encoder_keys == ("taemi_audio", "taemi_text")
    assert taemi.config["model"]["audio_encoder"] == config["encoders"]["taemi_audio"]
    assert taemi.raw_modalities == ("A", "T")


def test_train_job_stores_are_feature_folders_and_raw_media(demo):
    job = demo.runs_job("dscmn", "VT_stage1")
    assert [r.seed for r in job.runs] == [0, 1, 2]
    assert job.runs[0].stores == {
        "V": [f"results/synthetic/features/stage1_seed0/visual/{s}" for s in SPLITS],
        "T": [f"results/synthetic/features/stage1_seed0/text/{s}" for s in SPLITS],
    }
    e2e = demo.runs_job("taemi", "VAT_taemi").runs[0].stores
    assert e2e["V"][0] == "results/synthetic/features/taemi/visual/train"
    assert e2e["text"] == [f"results/synthetic/transcripts/{s}.tsv" for s in SPLITS]
    assert len(e2e["wave"]) == 4 + 2 + 2 and e2e["wave"][0] == "results/synthetic/audio/train/00.h5"
    inputs = demo.runs_inputs("taemi", "VAT_taemi")
    assert "results/models/wav2vec2_emotion" in inputs, "the tiny encoder it fine-tunes"
    fuse = demo.runs_job("baseline_fusion", "VA_official").runs[1]
    assert fuse.stores == {} and fuse.members == [
        "results/synthetic/runs/baseline_vit_gru/V_official/seed1",
        "results/synthetic/runs/baseline_w2v_linear/A_official/seed1",
    ]
    stack = demo.runs_job("late_fusion", "VAT_stage1").runs[2]
    assert all(m.endswith("/seed2") for m in stack.members) and sorted(stack.stores) == [
        "A",
        "T",
        "V",
    ]


SPLITS = ("train", "valid", "test")


def test_stage1_jobs_follow_the_objective(demo, real):
    assert real.stage1_jobs == ["joint"]
    inputs = real.stage1_inputs("joint")
    assert len(inputs["train_frames"]) == 64 and len(inputs["valid_audio"]) == 32
    assert inputs["test_transcripts"] == "results/vidmimic2/transcripts/test.tsv"
    assert set(real.stage1_encoders("joint")) == {"vision_encoder", "audio_encoder", "text_encoder"}
    pairs = plan_of(change={"stage1": {"objective": "pairs"}})
    assert pairs.stage1_jobs == ["vision_text", "audio_text"]
    assert set(pairs.stage1_inputs("audio_text")) == {
        "models",
        *(f"{s}_{m}" for s in SPLITS for m in ("audio", "transcripts")),
    }
    assert set(pairs.stage1_encoders("vision_text")) == {"vision_encoder", "text_encoder"}
    job = pairs.feature_job("stage1_seed0", "train")
    assert job.stage1["audio"].endswith("/audio_text/seed0/checkpoint.pt")
    assert job.stage1["text"].endswith("/vision_text/seed0/checkpoint.pt"), "stage1.text_pair"


def test_a_run_reads_the_transcript_set_it_names(real):
    e2e = real.runs_job("taemi", "VAT_taemi").runs[0].stores["text"]
    assert e2e == [f"results/vidmimic2/transcripts/sets/taemi/{s}.tsv" for s in SPLITS]
    assert real.transcript_shards("taemi", "valid")[0].endswith(
        "/transcripts/sets/taemi/valid/00.tsv"
    )
    asr = real.predict_job("asr_babble10db")
    run = next(r for r in asr.runs if r.run_dir.endswith("taemi/VAT_taemi/seed1"))
    text = asr.run_stores(run)["text"]
    assert (
        text[0] == "results/vidmimic2/robustness/asr_babble10db/transcripts/sets/taemi/valid/00.tsv"
    )
    removed = real.predict_job("text_removed")
    run = next(r for r in removed.runs if r.run_dir.endswith("taemi/VAT_taemi/seed1"))
    assert removed.run_stores(run)["text"] == [
        "results/vidmimic2/robustness/text_removed/transcripts/valid"
    ]


def test_the_data_report_reads_every_split_of_each_transcript_set_a_run_reads(demo, real):
    assert demo.report_transcripts() == {
        "default": {s: f"results/synthetic/transcripts/{s}.tsv" for s in SPLITS}
    }
    tables = real.report_transcripts()
    assert "taemi" in tables and set(tables) <= set(real.transcript_sets.sets)
    assert tables["taemi"] == {
        s: f"results/vidmimic2/transcripts/sets/taemi/{s}.tsv" for s in SPLITS
    }


def test_stage1_seeds_pair_with_run_seeds(real):
    job = real.runs_job("dscmn", "VAT_stage1")
    for run in job.runs:
        assert all(f"/stage1_seed{run.seed}/" in p for p in run.stores["A"])
    frozen = real.runs_job("dscmn", "VAT_frozen").runs
    assert frozen[0].stores == frozen[2].stores


def test_feature_jobs_read_their_shards_and_sources(real):
    job = real.feature_job("stage1_seed1", "valid")
    assert job.kind == "stage1" and len(job.shards) == 32
    joint = "results/vidmimic2/stage1/joint/seed1/checkpoint.pt"
    assert job.stage1 == {"visual": joint, "audio": joint, "text": joint}
    assert job.stage1_features == "encoder", "the paper's Stage II reads the encoders' outputs"
    assert job.outputs["audio"].folder == "results/vidmimic2/features/stage1_seed1/audio/valid"
    assert job.outputs["audio"].files[-1].endswith("/audio/valid/31.h5")
    taemi = real.feature_job("taemi", "train")
    assert list(taemi.outputs) == ["visual"] and taemi.shards[0].audio == ""
    assert taemi.encoders["visual"]["model_name"] == "google/vit-base-patch16-224-in21k"
    official = real.feature_job("official", "test")
    assert official.organiser["source"] == "auto" and set(official.encoders) == set(SPLITS_STORES)
    inputs = real.feature_inputs("stage1_seed1", "valid")
    assert inputs[0] == "results/vidmimic2/manifest.tsv" and len(inputs) == 1 + 3 * 32 + 1


SPLITS_STORES = ("visual", "audio", "text")


def test_a_condition_swaps_only_what_it_changes(real):
    babble = real.predict_job("babble10db")
    run = next(r for r in babble.runs if r.run_dir.endswith("dscmn/VAT_stage1/seed0"))
    stores = babble.run_stores(run)
    assert stores["A"] == [
        "results/vidmimic2/robustness/babble10db/features/stage1_seed0/audio/valid"
    ]
    assert stores["V"] == ["results/vidmimic2/features/stage1_seed0/visual/valid"]
    assert babble.splits == ["valid"] and babble.results.endswith("babble10db/results.tsv")
    asr = real.predict_job("asr_babble0db")
    e2e = next(r for r in asr.runs if r.run_dir.endswith("taemi/VAT_taemi/seed0"))
    text = asr.run_stores(e2e)["text"]
    assert len(text) == 32 and text[0].startswith("results/vidmimic2/robustness/asr_babble0db/")
    job = real.feature_job("frozen", "valid", "occlusion50", "visual")
    assert (
        list(job.outputs) == ["visual"]
        and "/robustness/occlusion50/frames/" in job.shards[0].frames
    )


def test_runs_on_the_organisers_files_are_not_evaluated_under_a_condition_on_them(real):
    occlusion = {r.run_dir: r for r in real.predict_job("occlusion50").runs}
    vit = occlusion["results/vidmimic2/runs/baseline_vit_gru/V_official/seed0"]
    assert vit.kind == "skip" and "organisers' files" in vit.reason
    fusion = occlusion["results/vidmimic2/runs/baseline_fusion/VA_official/seed0"]
    assert fusion.kind == "skip", "a fused run needs every member"
    audio = occlusion["results/vidmimic2/runs/baseline_w2v_linear/A_official/seed0"]
    assert audio.kind == "model", "the root has no organiser wav2vec2 files"


def test_every_job_spec_round_trips_and_stays_a_short_command(real):
    specs = [(RunsJob, real.runs_job(s, v)) for s, v in real.variants]
    specs += [(PredictJob, real.predict_job(c)) for c in real.conditions]
    specs += [
        (FeatureJob, real.feature_job(f, s)) for f in ("official", "stage1_seed2") for s in SPLITS
    ]
    for kind, job in specs:
        text = to_json(job)
        assert load_job(kind, text) == job
        assert len(text) < 64_000, (
            f"{type(job).__name__} of {len(text)} bytes (bash -c takes 128 kB)"
        )


def test_a_job_spec_with_an_unknown_key_names_it():
    with pytest.raises(ConfigError, match=r"--job\.runs\[0\]: unknown key\(s\) \['sed'\]"):
        load_job(RunsJob, json.dumps({"manifest": "m", "test_labels": "", "runs": [{"sed": 1}]}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"train": {"systems": {"dscmn": {"submission_variant": "VAT_stage"}}}},
            "train.systems.dscmn.submission_variant: 'dscmn' has no variant 'VAT_stage'",
        ),
        (
            {
                "report": {
                    "tables": {
                        "t": {
                            "rows": [{"key": "k", "label": "l", "system": "dscmn", "variant": "VA"}]
                        }
                    }
                }
            },
            "report.tables.t.rows[0]: 'dscmn' has no variant 'VA'",
        ),
        (
            {"report": {"tables": {"leaderboard": {"rows": []}}}},
            "report.tables.leaderboard: ['table1', 'per_emotion', 'pairwise', 'leaderboard'",
        ),
        (
            {"report": {"figures": {"ablation_tables": ["table9"]}}},
            "report.figures.ablation_tables[0]: no table 'table9'",
        ),
        (
            {"report": {"figures": {"fusion": {"system": "dscnm", "variant": "VAT_stage1"}}}},
            "report.figures.fusion: system 'dscnm' is not in train.systems",
        ),
        (
            {
                "report": {
                    "robustness": {
                        "compare": [{"key": "c", "label": "c", "a": "dscmn", "b": "nope"}]
                    }
                }
            },
            "report.robustness.compare[0].b: 'nope' is not a row key",
        ),
        (
            {"train": {"systems": {"baseline_fusion": {"fuse": ["dscmn/V_stage1", "taemi/nope"]}}}},
            "member 'taemi/nope' is not a trained system/variant",
        ),
        (
            {"train": {"systems": {"dscmn": {"model": {"fusoin": "mean"}}}}},
            "fusoin",
        ),
        (
            {
                "train": {
                    "systems": {"taemi": {"variants": {"VAT_taemi": {"transcripts": "taemy"}}}}
                }
            },
            "taemi.variants.VAT_taemi.transcripts: no transcript set 'taemy'",
        ),
    ],
)
def test_a_name_pointing_nowhere_fails_before_any_job_naming_the_key(change, message):
    with pytest.raises(ConfigError) as err:
        plan_of(change=change)
    assert message in str(err.value)


def test_a_model_check_that_passed_is_remembered_until_a_model_config_changes(
    demo, tmp_path, monkeypatch
):
    import dataclasses

    from emibench.models import registry
    from emibench.plan.checks import check_models

    check_models(demo.variants, tmp_path)
    assert len(list(tmp_path.iterdir())) == 1

    def refuse(config, modalities):
        raise ValueError("checked again")

    monkeypatch.setattr(registry, "check_model_config", refuse)
    check_models(demo.variants, tmp_path)  # remembered: no import, no check
    changed = dict(demo.variants)
    key = ("dscmn", "VAT_stage1")
    model = {**changed[key].config["model"], "d_model": 48}
    changed[key] = dataclasses.replace(changed[key], config={**changed[key].config, "model": model})
    with pytest.raises(ConfigError, match="checked again"):
        check_models(changed, tmp_path)

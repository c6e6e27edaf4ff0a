"""Peers through the trainer on fake stores: every loss falls; late fusion of unimodal members,
cross-fitted on valid, writes a complete run folder and beats the leaky fit on train predictions
in honesty (its valid score is not inflated by the members' overfit train predictions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.emotions import EMOTIONS
from emibench.evaluate.record import RunRecord, write_record
from emibench.evaluate.run_files import read_predictions, read_timing, write_predictions
from emibench.settings import ConfigError
from emibench.train.data import load_run_data
from emibench.train.losses import LOSSES
from emibench.train.stacking import StackSpec, read_presence, stack_run
from emibench.train.trainer import RunSpec, train_run
from fake_train_inputs import write_fake_inputs
from jobs import run_job, runs_argv

DIMS = {"V": 12, "A": 10, "T": 8}
CONCAT = {"name": "concat_mlp", "hidden": 16, "dropout": 0.1}
TRAIN = {"epochs": 12, "batch_size": 16, "lr": 0.01, "patience": 12, "ema_decay": 0.9}
STACK_TRAIN = {"epochs": 100, "batch_size": 16, "lr": 0.03, "patience": 15, "ema_decay": 0.0}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    return write_fake_inputs(
        root, n={"train": 96, "valid": 60, "test": 24}, dims=DIMS, featsets=("stage1",)
    )


def _train(fake, out_dir, modalities, model=CONCAT, train=TRAIN, seed=0, system="concat_mlp"):
    stores = {m: fake["stores"]["stage1"][m] for m in modalities}
    data = load_run_data(fake["manifest"], stores, fake["test_labels"])
    spec = RunSpec.from_config(
        system,
        f"{modalities}_stage1",
        seed,
        {"features": "stage1", "modalities": modalities, "model": model, "train": train},
    )
    return train_run(spec, data, out_dir, torch.device("cpu")).to_dict()


@pytest.fixture(scope="module")
def members(fake, tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    return [_train(fake, root / m, m) and root / m for m in "VAT"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", ["concat_mlp", "pooled_mlp"])
def test_peer_smoke_run_loss_falls(fake, tmp_path, name, loss):
    metrics = _train(
        fake,
        tmp_path,
        "VAT",
        model={"name": name, "hidden": 16},
        train={**TRAIN, "loss": loss, "loss_weight": 0.5},
        system=name,
    )
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert log["train_loss"].iloc[-1] < 0.8 * log["train_loss"].iloc[0], log
    assert metrics["config"]["train"]["loss"] == loss
    assert metrics["splits"]["valid"]["mean_pearson"] > 0.2


def _stack(fake, members, out_dir, **stack):
    spec = StackSpec.from_config(
        "late_fusion",
        "VAT_stage1",
        0,
        {
            "features": "stage1",
            "modalities": "VAT",
            "stack": {"members": [str(m) for m in members], "head": "mlp", "hidden": 0, **stack},
            "train": STACK_TRAIN,
        },
    )
    stores = {m: fake["stores"]["stage1"][m] for m in "VAT"}
    return stack_run(
        spec, members, fake["manifest"], stores, out_dir, torch.device("cpu"), fake["test_labels"]
    ).to_dict()


def test_late_fusion_run_folder(fake, members, tmp_path):
    metrics = _stack(fake, members, tmp_path, folds=4)
    for name in ("metrics.json", "timing.json", "train_log.tsv", "model.pt"):
        assert (tmp_path / name).is_file()
    manifest = pd.read_csv(fake["manifest"], sep="\t", dtype={"id": str})
    assert read_timing(tmp_path)["n_predicted_clips"] == len(manifest)
    assert "train_seconds" not in metrics
    for split in ("train", "valid", "test"):
        preds = read_predictions(tmp_path / f"predictions_{split}.csv")
        assert sorted(preds.index) == sorted(manifest.loc[manifest["split"] == split, "id"])
    assert set(metrics["splits"]) == {"valid", "test"}
    valid_ids = manifest.loc[manifest["split"] == "valid", "id"]
    assert metrics["splits"]["valid"]["n_missing"] == {
        m: sum(i in fake["missing"][m] for i in valid_ids) for m in "VAT"
    }
    assert metrics["config"]["n_folds"] == 4
    assert metrics["config"]["members"] == [
        "concat_mlp/V_stage1/seed0",
        "concat_mlp/A_stage1/seed0",
        "concat_mlp/T_stage1/seed0",
    ]
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert sorted(log["fold"].unique()) == [0, 1, 2, 3]
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert len(saved["state_dicts"]) == 4
    best_member = max(
        json.loads((m / "metrics.json").read_text())["splits"]["valid"]["mean_pearson"]
        for m in members
    )
    assert metrics["splits"]["valid"]["mean_pearson"] > best_member


def test_cross_fitting_keeps_each_valid_clip_out_of_its_regressor(fake, members, tmp_path):
    """Scrambling one valid clip's labels changes the regressors of the other folds, which learn
    from it, but not that clip's own prediction: its regressor never saw it."""
    first = _stack(fake, members, tmp_path / "a", folds=3)
    manifest = pd.read_csv(fake["manifest"], sep="\t", dtype={"id": str})
    clip = manifest.loc[manifest["split"] == "valid", "id"].iloc[5]
    emotions = list(read_predictions(tmp_path / "a" / "predictions_valid.csv").columns)
    row = manifest["id"] == clip
    manifest.loc[row, emotions] = 1 - manifest.loc[row, emotions].to_numpy()
    changed = {**fake, "manifest": tmp_path / "manifest.tsv"}
    manifest.to_csv(changed["manifest"], sep="\t", index=False)
    _stack(changed, members, tmp_path / "b", folds=3)
    a = read_predictions(tmp_path / "a" / "predictions_valid.csv")
    b = read_predictions(tmp_path / "b" / "predictions_valid.csv")
    np.testing.assert_array_equal(a.loc[clip], b.loc[clip])
    assert not np.allclose(a.drop(index=clip), b.drop(index=clip))
    assert first["config"]["n_folds"] == 3


def _memorising_member(fake, out_dir) -> Path:
    """A member run that reproduces its train labels and guesses elsewhere: overfitting at its
    most extreme."""
    manifest = pd.read_csv(fake["manifest"], sep="\t", dtype={"id": str})
    rng = np.random.default_rng(0)
    for split in ("train", "valid", "test"):
        ids = sorted(manifest.loc[manifest["split"] == split, "id"])
        values = rng.uniform(0, 1, size=(len(ids), len(EMOTIONS)))
        if split == "train":
            values = manifest.set_index("id").loc[ids, list(EMOTIONS)].to_numpy(float)
        write_predictions(ids, values, out_dir / f"predictions_{split}.csv")
    names = {"system": "memoriser", "variant": "V_stage1", "seed": 0, "modalities": "V"}
    write_record(RunRecord(**names, features="stage1", kind="model", splits={}), out_dir)
    return out_dir


@pytest.mark.parametrize("head", ["weights", "mlp"])
def test_fitting_on_members_train_predictions_trusts_the_overfit_member(
    fake, members, tmp_path, head
):
    """Why fit_on valid is the default: learning from the members' train predictions, the
    regressor follows a member that memorised its train clips and fails on valid; cross-fitted on
    valid, it learns to ignore that member."""
    runs = [*members, _memorising_member(fake, tmp_path / "memoriser")]
    honest = _stack(fake, runs, tmp_path / "valid", folds=4, head=head)
    leaky = _stack(fake, runs, tmp_path / "train", fit_on="train", head=head)
    assert leaky["config"]["n_folds"] == 1
    assert (
        honest["splits"]["valid"]["mean_pearson"] > leaky["splits"]["valid"]["mean_pearson"] + 0.1
    )


def test_presence_follows_the_stores(fake):
    ids = sorted(pd.read_csv(fake["manifest"], sep="\t", dtype={"id": str})["id"])
    present = read_presence({m: fake["stores"]["stage1"][m] for m in "VAT"}, ids)
    for k, m in enumerate("VAT"):
        assert {i for i, p in zip(ids, present[:, k]) if not p} == fake["missing"][m]


def test_bad_stack_config_names_the_key(fake, members, tmp_path):
    with pytest.raises(ConfigError, match="fit_on 'test'"):
        _stack(fake, members, tmp_path, fit_on="test")
    with pytest.raises(ConfigError, match="widht"):
        _stack(fake, members, tmp_path, widht=3)
    with pytest.raises(ValueError, match="seed"):
        spec = StackSpec.from_config(
            "s",
            "v",
            1,
            {"features": "stage1", "modalities": "VAT", "stack": {"members": ["a/b", "c/d"]}},
        )
        stack_run(
            spec,
            members,
            fake["manifest"],
            {m: fake["stores"]["stage1"][m] for m in "VAT"},
            tmp_path,
            torch.device("cpu"),
        )


def test_cli_stacks(fake, members, tmp_path):
    config = {
        "features": "stage1",
        "modalities": "VAT",
        "stack": {"members": ["concat_mlp/V_stage1", "concat_mlp/A_stage1"], "hidden": 0},
        "train": {**STACK_TRAIN, "epochs": 5},
    }
    stores = {m: fake["stores"]["stage1"][m] for m in "VAT"}
    job = run_job("late_fusion", "VA", 0, tmp_path, config, stores, members[:2])
    argv = runs_argv("stack", [job], fake["manifest"])
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["system"] == "late_fusion" and set(metrics["splits"]) == {"valid"}


@pytest.mark.parametrize("fit_on", ["valid", "train"])
def test_a_saved_late_fusion_run_reproduces_its_predictions(fake, members, tmp_path, fit_on):
    """What `emibench predict` does under a robustness condition, on the clean inputs: the fold
    regressors of model.pt give back the run's own predictions, valid ones cross-fitted."""
    from emibench.train.stacking import stack_predict

    _stack(fake, members, tmp_path, folds=3, fit_on=fit_on)
    stores = {m: fake["stores"]["stage1"][m] for m in "VAT"}
    splits = ("valid", "test")
    out = tmp_path / "again"
    scores = stack_predict(
        tmp_path, members, fake["manifest"], stores, splits, out, torch.device("cpu"),
        fake["test_labels"],
    )  # fmt: skip
    saved = json.loads((tmp_path / "metrics.json").read_text())["splits"]
    for split in splits:
        pd.testing.assert_frame_equal(
            read_predictions(tmp_path / f"predictions_{split}.csv"),
            read_predictions(out / f"predictions_{split}.csv"),
            atol=1e-6,
        )
        assert scores[split].mean_pearson == pytest.approx(saved[split]["mean_pearson"], abs=1e-6)
        assert scores[split].n_missing == saved[split]["n_missing"]


def test_a_small_valid_split_gets_fewer_folds_and_a_tiny_one_an_error():
    from emibench.train.stacking import StackSettings, _folds

    settings = StackSettings(members=("a/x", "b/y"), folds=5)
    rng = np.random.default_rng(0)
    folds = list(_folds([f"{i:05d}" for i in range(6)], settings, rng))
    assert len(folds) == 3 and sorted(i for held, _, _ in folds for i in held) == [
        f"{i:05d}" for i in range(6)
    ]
    assert all(learn and stop for _, learn, stop in folds)
    with pytest.raises(ConfigError, match="stack.fit_on valid: 3 valid clips"):
        list(_folds(["00000", "00001", "00002"], settings, rng))

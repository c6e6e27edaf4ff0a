"""The trainer end to end on fake stores: files, every clip predicted, loss falls, reruns identical."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.data.store import SequenceWriter
from emibench.emotions import EMOTIONS
from emibench.evaluate.run_files import read_predictions, read_timing
from emibench.models.registry import build_model
from emibench.settings import ConfigError, settings_from
from emibench.train.data import load_run_data
from emibench.train.trainer import RunSpec, TrainConfig, train_run
from fake_train_inputs import DIMS, DSCMN, write_fake_inputs
from jobs import run_job, runs_argv

TRAIN = {"epochs": 8, "batch_size": 16, "lr": 0.005, "patience": 8, "ema_decay": 0.99}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    return write_fake_inputs(
        root, n={"train": 64, "valid": 32, "test": 24}, dims=DIMS, featsets=("stage1",)
    )


def _run(fake, out_dir, modalities="VAT", model=DSCMN, seed=0, train=TRAIN):
    stores = {m: fake["stores"]["stage1"][m] for m in modalities}
    data = load_run_data(
        fake["manifest"], stores, fake["test_labels"], max_steps=0, standardize=True
    )
    spec = RunSpec.from_config(
        "dscmn",
        "x",
        seed,
        {"features": "stage1", "modalities": modalities, "model": model, "train": train},
    )
    return train_run(spec, data, out_dir, torch.device("cpu")).to_dict(), data


def test_run_folder_and_every_clip_predicted(fake, tmp_path):
    metrics, data = _run(fake, tmp_path)
    for name in (
        "metrics.json",
        "timing.json",
        "train_log.tsv",
        "model.pt",
        "fusion_weights_valid.csv",
        "fusion_weights_test.csv",
    ):
        assert (tmp_path / name).is_file(), name
    manifest = pd.read_csv(fake["manifest"], sep="\t", dtype={"id": str})
    for split in ("train", "valid", "test"):
        preds = read_predictions(tmp_path / f"predictions_{split}.csv")
        assert sorted(preds.index) == sorted(manifest.loc[manifest["split"] == split, "id"])
        assert list(preds.columns) == list(EMOTIONS)
    # clips lacking every modality (first train clip, last test clip) are predicted too
    all_missing = sorted(set.intersection(*fake["missing"].values()))
    assert all_missing and all(
        i in data.all_missing("train") + data.all_missing("test") for i in all_missing
    )
    weights = pd.read_csv(tmp_path / "fusion_weights_test.csv", dtype={"id": str}).set_index("id")
    assert list(weights.columns) == ["beta_v", "beta_a", "beta_t"]
    assert (weights.loc[all_missing[-1]] == 0).all()
    some = weights.sum(axis=1)
    assert np.allclose(some[some > 0], 1.0)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    assert set(written["splits"]) == {"valid", "test"}
    assert set(written["splits"]["valid"]["pearson"]) == set(EMOTIONS)
    valid_ids = data.ids["valid"]
    assert written["splits"]["valid"]["n_missing"] == {
        m: sum(i in fake["missing"][m] for i in valid_ids) for m in "VAT"
    }
    assert written["splits"]["valid"]["n_clips"] == 32
    assert written["config"]["seeds"]["torch"] == 0
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    model = build_model(saved["model_config"], saved["dims"], saved["modalities"])
    model.load_state_dict(saved["state_dict"])
    assert saved["standardize"]["V"]["mean"].shape == (DIMS["V"],)


def test_loss_falls_and_model_learns(fake, tmp_path):
    metrics, _ = _run(fake, tmp_path)
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert list(log.columns) == ["epoch", "train_loss", "valid_mean_pearson", "lr", "seconds"]
    assert log["train_loss"].iloc[-1] < 0.7 * log["train_loss"].iloc[0]
    assert metrics["splits"]["valid"]["mean_pearson"] > 0.3
    assert metrics["splits"]["valid"]["mean_pearson"] == pytest.approx(
        log["valid_mean_pearson"].max()
    )


@pytest.mark.parametrize(
    ("train", "said"),
    [
        ({"batch_size": 48}, "train: 64 clips in batches of up to 48, 2 batches an epoch"),
        (
            {"batch_size": 16, "max_train_batches": 1},
            "train: 64 clips in batches of up to 16, 1 batch an epoch (max_train_batches: 1 of 4)",
        ),
    ],
)
def test_the_log_says_how_many_batches_and_how_large(fake, tmp_path, caplog, train, said):
    """Once per run: the train clips, the largest batch trained, the batches an epoch (a
    rehearsal's check that a run met full batches)."""
    caplog.set_level("INFO", logger="emibench.train.trainer")
    _run(fake, tmp_path, modalities="A", model={"name": "w2v_linear"}, train={"epochs": 2, **train})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("train: ")]
    assert lines == [said]


def test_same_seed_same_metrics(fake, tmp_path):
    first, data = _run(fake, tmp_path / "a", seed=3)
    second, _ = _run(fake, tmp_path / "b", seed=3)
    _run(fake, tmp_path / "c", seed=4)
    assert first["splits"] == second["splits"]
    # timings live in timing.json, so identical runs write identical metrics.json
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (
        tmp_path / "b" / "metrics.json"
    ).read_bytes()
    assert not {"train_seconds", "predict_seconds"} & set(first)
    timing = read_timing(tmp_path / "a")
    assert timing["n_predicted_clips"] == sum(len(ids) for ids in data.ids.values())
    assert timing["train_seconds"] > 0 and timing["predict_seconds"] > 0
    a = (tmp_path / "a" / "predictions_test.csv").read_text()
    assert a == (tmp_path / "b" / "predictions_test.csv").read_text()
    assert a != (tmp_path / "c" / "predictions_test.csv").read_text()


def test_early_stopping_keeps_best_epoch(fake, tmp_path):
    metrics, _ = _run(
        fake,
        tmp_path,
        modalities="A",
        model={"name": "w2v_linear"},
        train={"epochs": 40, "batch_size": 16, "lr": 0.05, "patience": 2, "ema_decay": 0.0},
    )
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert metrics["epochs_run"] == len(log) and metrics["epochs_run"] == metrics["best_epoch"] + 2
    assert log["valid_mean_pearson"].idxmax() + 1 == metrics["best_epoch"]
    assert metrics["predicted_epoch"] == metrics["best_epoch"]


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_select_last_predicts_with_the_last_epochs_weights(fake, tmp_path, ema_decay):
    """TAEMI's authors predict with the last epoch's weights: early stopping still ends the run,
    metrics.json keeps the best epoch and says which epoch predicted."""
    train = {"epochs": 40, "batch_size": 16, "lr": 0.05, "patience": 2, "ema_decay": ema_decay}
    best, _ = _run(
        fake, tmp_path / "best", modalities="A", model={"name": "w2v_linear"}, train=train
    )
    last, _ = _run(
        fake,
        tmp_path / "last",
        modalities="A",
        model={"name": "w2v_linear"},
        train={**train, "select": "last"},
    )
    log = pd.read_csv(tmp_path / "last" / "train_log.tsv", sep="\t")
    assert last["epochs_run"] == best["epochs_run"] == len(log)
    assert last["best_epoch"] == best["best_epoch"] < last["epochs_run"]
    assert last["predicted_epoch"] == last["epochs_run"]
    assert last["splits"]["valid"]["mean_pearson"] == pytest.approx(
        log["valid_mean_pearson"].iloc[-1]
    )
    assert last["splits"]["valid"]["mean_pearson"] < best["splits"]["valid"]["mean_pearson"]
    saved = torch.load(tmp_path / "last" / "model.pt", weights_only=True)
    assert saved["predicted_epoch"] == last["epochs_run"]
    with pytest.raises(ConfigError, match="select must be one of"):
        TrainConfig(select="final")


def test_cli_trains_every_seed_into_its_own_run_folder(fake, tmp_path, capsys):
    config = {
        "features": "stage1",
        "modalities": "V",
        "model": {"name": "vit_gru", "hidden": 8, "layers": 2},
        "train": {"epochs": 2, "ema_decay": 0.0, "optimizer": "adam"},
    }
    stores = {"V": fake["stores"]["stage1"]["V"]}
    runs = [tmp_path / "seed0", tmp_path / "seed1"]
    jobs = [
        run_job("baseline_vit_gru", "V", seed, run, config, stores) for seed, run in enumerate(runs)
    ]
    assert main(runs_argv("train", jobs, fake["manifest"])) == 0
    for seed, run in enumerate(runs):
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["seed"] == seed and set(metrics["splits"]) == {"valid"}
        assert metrics["kind"] == "model" and "train_seconds" not in metrics
        assert f"baseline_vit_gru/V seed {seed}" in (run / "log.txt").read_text()
        weights = pd.read_csv(run / "fusion_weights_valid.csv")
        assert list(weights.columns) == ["id", "beta_v", "beta_a", "beta_t"] and weights.empty
    first = pd.read_csv(runs[0] / "predictions_valid.csv")
    assert not first.equals(pd.read_csv(runs[1] / "predictions_valid.csv"))
    capsys.readouterr()
    audio = {**stores, "A": fake["stores"]["stage1"]["A"][:1]}
    wrong = run_job("baseline_vit_gru", "V", 0, runs[0], config, audio)
    assert main(runs_argv("train", [wrong], fake["manifest"])) == 1
    assert "reads the stores V (modalities V); stores were given for A V" in capsys.readouterr().err


def test_store_without_a_clip_is_an_error_naming_it(fake, tmp_path):
    path = tmp_path / "visual.h5"
    with SequenceWriter(path) as w:
        w.write("00001", np.zeros((3, DIMS["V"]), np.float16))
    with pytest.raises(KeyError, match="00000"):
        load_run_data(fake["manifest"], {"V": [path]})


def test_long_clips_are_subsampled_and_features_standardised(fake):
    data = load_run_data(fake["manifest"], {"V": fake["stores"]["stage1"]["V"]}, max_steps=5)
    assert max(len(a) for a in data.features["V"].arrays.values()) == 5
    batch = next(data.batches("train", 64, np.random.default_rng(0)))
    values = batch.visual.data[batch.visual.mask]
    assert abs(values.mean().item()) < 0.1 and abs(values.std().item() - 1) < 0.1


def test_bad_train_config_names_the_key():
    with pytest.raises(ConfigError, match="epoks"):
        settings_from(TrainConfig, {"epoks": 3}, "train")
    with pytest.raises(ValueError, match="features"):
        RunSpec.from_config("s", "v", 0, {"features": "stage2", "modalities": "V", "model": {}})


def test_non_finite_predictions_fail_the_run(fake, tmp_path):
    from emibench.train.trainer import predict

    class Broken(torch.nn.Module):
        def forward(self, batch):
            pred = torch.zeros(len(batch), 6)
            pred[0, 2] = float("nan")
            return {"pred": pred}

    data = load_run_data(fake["manifest"], {"V": fake["stores"]["stage1"]["V"]})
    with pytest.raises(FloatingPointError, match="non-finite predictions on valid"):
        predict(Broken(), data, "valid", 8, torch.device("cpu"))


def test_a_job_frees_each_load_after_the_last_run_that_reads_it(fake, tmp_path, monkeypatch):
    """Seeds on their own Stage I sets load one after another: a load is freed after the last
    run that reads it, and runs reading the same stores with other data options load apart."""
    import gc
    import weakref

    from emibench.plan.jobs import RunsJob, load_job
    from emibench.train import trainer

    alive, held, loads = weakref.WeakSet(), [], []

    class Loaded:
        def __init__(self, stores, options):
            loads.append((stores, options))

    def fake_load(manifest, stores, test_labels, max_steps, *rest):
        data = Loaded(sorted(stores.values()), max_steps)
        alive.add(data)
        return data

    def fake_train(spec, data, out_dir, device):
        gc.collect()
        held.append(len(alive))

    monkeypatch.setattr(trainer, "load_run_data", fake_load)
    monkeypatch.setattr(trainer, "train_run", fake_train)
    config = {"features": "stage1", "modalities": "V", "model": DSCMN, "train": TRAIN}
    other = {**config, "train": {**TRAIN, "max_steps": 8}}
    x, y = fake["stores"]["stage1"]["V"], fake["stores"]["stage1"]["A"]
    runs = [
        run_job("dscmn", "V", 0, tmp_path / "a", config, {"V": x}),
        run_job("dscmn", "V", 1, tmp_path / "b", config, {"V": y}),
        run_job("dscmn", "V", 2, tmp_path / "c", config, {"V": x}),
        run_job("dscmn", "V", 3, tmp_path / "d", other, {"V": x}),
    ]
    parsed = load_job(RunsJob, runs_argv("train", runs, fake["manifest"])[2])
    trainer.train_runs(parsed.runs, parsed.manifest, None, torch.device("cpu"))
    # x is kept for run c, y freed after b, x freed after c before d loads x anew (other options)
    assert held == [1, 2, 1, 1]
    assert [options for _, options in loads] == [0, 0, 8]

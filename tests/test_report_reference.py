"""Reference scores (`emibench check-scores`): a change that moves a score fails, naming each row
that moved (system, variant, seed, split, emotion, old, new); unchanged runs pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emibench.cli import main
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS
from emibench.report.collect import collect_runs
from emibench.report.reference import (
    MOVED_COLUMNS,
    SCORE_KEYS,
    TOLERANCE,
    moved_scores,
    read_scores,
)
from emibench.train.data import load_run_data
from emibench.train.trainer import RunSpec, train_run
from fake_train_inputs import DIMS, DSCMN, write_fake_inputs

REPO = Path(__file__).resolve().parents[1]
TRAIN = {"epochs": 3, "batch_size": 16, "lr": 0.005, "patience": 3, "ema_decay": 0.9}
RUNS = {  # (system, variant): model config, modalities
    ("dscmn", "VAT"): (DSCMN, "VAT"),
    ("baseline_w2v_linear", "A"): ({"name": "w2v_linear"}, "A"),
}


def train(fake, out: Path, system: str, variant: str, model: dict) -> Path:
    """One real training run on the fake stores; returns its metrics.json."""
    modalities = RUNS[system, variant][1]
    stores = {m: fake["stores"]["stage1"][m] for m in modalities}
    data = load_run_data(fake["manifest"], stores, fake["test_labels"], max_steps=0)
    config = {"features": "stage1", "modalities": modalities, "model": model, "train": TRAIN}
    spec = RunSpec.from_config(system, variant, 0, config)
    train_run(spec, data, out / system / variant / "seed0", torch.device("cpu"))
    return out / system / variant / "seed0" / "metrics.json"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    return write_fake_inputs(root, n={"train": 48, "valid": 24, "test": 24}, dims=DIMS)


def test_a_changed_hidden_size_fails_naming_exactly_its_rows(fake, tmp_path, capfd):
    """The reference is written from a run set; DSCMN's MLP hidden size is changed and its run
    retrained: the check fails and names DSCMN's 14 scores (2 splits x 7), not the baseline's."""
    before = [train(fake, tmp_path / "before", s, v, RUNS[s, v][0]) for s, v in RUNS]
    write_table(collect_runs(before), tmp_path / "before.tsv")
    reference = tmp_path / "reference.tsv"
    assert main(["check-scores", "--results", str(tmp_path / "before.tsv")]
                + ["--reference", str(reference), "--update"]) == 0  # fmt: skip
    again = [train(fake, tmp_path / "again", s, v, RUNS[s, v][0]) for s, v in RUNS]
    write_table(collect_runs(again), tmp_path / "again.tsv")
    assert main(["check-scores", "--results", str(tmp_path / "again.tsv")]
                + ["--reference", str(reference)]) == 0  # fmt: skip

    wider = DSCMN | {"mlp_hidden": DSCMN["mlp_hidden"] + 8}
    after = [
        train(fake, tmp_path / "after", "dscmn", "VAT", wider),
        train(fake, tmp_path / "after", "baseline_w2v_linear", "A", {"name": "w2v_linear"}),
    ]
    write_table(collect_runs(after), tmp_path / "after.tsv")
    moved = moved_scores(read_scores(reference), read_scores(tmp_path / "after.tsv"))
    assert list(moved.columns) == MOVED_COLUMNS
    assert set(moved["system"]) == {"dscmn"} and len(moved) == 2 * (len(EMOTIONS) + 1)
    assert (moved["old"] != moved["new"]).all()

    capfd.readouterr()
    assert main(["check-scores", "--results", str(tmp_path / "after.tsv")]
                + ["--reference", str(reference)]) == 1  # fmt: skip
    message = capfd.readouterr().err
    assert "14 scores of 28 moved" in message
    for row in moved.itertuples(index=False):
        line = (
            f"{row.system} {row.variant} {row.seed} {row.split} {row.emotion} "
            f"{row.old:.6f} {row.new:.6f}"
        )
        assert line in " ".join(message.split()), line
    assert "baseline_w2v_linear" not in message.split("in 1 runs")[1]


def scores(values: dict[tuple, float]) -> pd.DataFrame:
    rows = [dict(zip(SCORE_KEYS, key)) | {"pearson": v} for key, v in values.items()]
    return pd.DataFrame(rows, columns=[*SCORE_KEYS, "pearson"])


def test_rows_within_the_tolerance_are_the_same_nan_equals_nan():
    a = scores({("s", "v", 0, "valid", "joy"): 0.5, ("s", "v", 0, "valid", "mean"): np.nan})
    b = scores(
        {("s", "v", 0, "valid", "joy"): 0.5 + TOLERANCE / 2, ("s", "v", 0, "valid", "mean"): np.nan}
    )
    assert moved_scores(a, b).empty
    assert len(moved_scores(a, b, tolerance=0.0)) == 1


def test_rows_on_one_side_only_are_named():
    old = scores({("s", "v", 0, "valid", "joy"): 0.5, ("s", "v", 1, "valid", "joy"): 0.4})
    new = scores({("s", "v", 0, "valid", "joy"): 0.5, ("t", "v", 0, "valid", "joy"): 0.3})
    moved = moved_scores(old, new)
    assert moved[["system", "seed"]].values.tolist() == [["s", 1], ["t", 0]]
    assert np.isnan(moved["new"].iloc[0]) and np.isnan(moved["old"].iloc[1])


def test_a_table_without_scores_or_with_repeated_rows_is_an_error_naming_it(tmp_path):
    path = tmp_path / "results.tsv"
    write_table(scores({("s", "v", 0, "valid", "joy"): 0.5}).drop(columns="seed"), path)
    with pytest.raises(KeyError, match=r"results.tsv: missing columns \['seed'\]"):
        read_scores(path)
    twice = scores({("s", "v", 0, "valid", "joy"): 0.5})
    write_table(pd.concat([twice, twice]), path)
    with pytest.raises(ValueError, match=r"results.tsv: 2 rows repeat their keys"):
        read_scores(path)


@pytest.mark.parametrize("dataset", ["synthetic", "e2e"])
def test_the_committed_references_hold_every_run_of_their_config(dataset):
    reference = read_scores(REPO / "reference" / f"{dataset}.tsv")
    per_run = reference.groupby(["system", "variant", "seed"]).size()
    assert (per_run % (len(EMOTIONS) + 1) == 0).all()
    assert {"dscmn", "taemi", "baseline_fusion", "late_fusion"} <= set(reference["system"])
    assert reference["pearson"].between(-1, 1).all()

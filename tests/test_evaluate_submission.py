"""Baseline fusion and ABAW submissions from run folders."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from emibench.cli import main
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS
from emibench.evaluate.labels import read_test_labels
from emibench.evaluate.metrics import mean_pearson
from emibench.evaluate.record import RunRecord, SplitScores, write_record
from emibench.evaluate.run_files import read_predictions, write_predictions
from emibench.evaluate.submission import check_submission, choose_variant
from jobs import run_job, runs_argv

IDS = {
    "train": ["00000", "00001", "00002"],
    "valid": ["00003", "00004", "00005", "00006"],
    "test": ["00009", "00007", "00008", "00010"],
}


@pytest.fixture
def project(tmp_path):
    """A manifest (test clip 00008 broken), test labels and two runs of fake predictions."""
    rng = np.random.default_rng(0)
    rows = []
    for split, ids in IDS.items():
        for i in ids:
            labels = rng.random(6).round(3) if split != "test" else [np.nan] * 6
            rows.append(
                {
                    "id": i,
                    "split": split,
                    "status": "broken" if i == "00008" else "ok",
                    **dict(zip(EMOTIONS, labels)),
                }
            )
    write_table(pd.DataFrame(rows), tmp_path / "manifest.tsv")
    test_labels = pd.DataFrame(rng.random((4, 6)).round(3), columns=list(EMOTIONS))
    test_labels.insert(0, "Filename", [int(i) for i in IDS["test"]])
    test_labels.to_csv(tmp_path / "test_labels.csv", index=False)
    return tmp_path


def _fake_run(root, system, variant, seed, valid_score, offset):
    run = root / "runs" / system / variant / f"seed{seed}"
    for split, ids in IDS.items():
        write_predictions(
            ids,
            np.full((len(ids), 6), offset) + np.arange(len(ids))[:, None] * 0.1,
            run / f"predictions_{split}.csv",
        )
    scores = SplitScores(valid_score, dict.fromkeys(EMOTIONS, valid_score), 4, {"V": 1})
    record = RunRecord(system, variant, seed, "official", "V", "model", {"valid": scores})
    write_record(dataclasses.replace(record, n_params=10), run)
    return run


def test_fuse_averages_member_predictions(project):
    a = _fake_run(project, "base_v", "V", 0, 0.1, 0.2)
    b = _fake_run(project, "base_a", "A", 0, 0.2, 0.4)
    out = project / "runs" / "fusion" / "VA" / "seed0"
    config = {"features": "official", "modalities": "VA", "fuse": ["base_v/V", "base_a/A"]}
    job = run_job("fusion", "VA", 0, out, config, members=[a, b])
    argv = runs_argv(
        "fuse", [job], project / "manifest.tsv", project / "test_labels.csv", device=False
    )
    assert main(argv) == 0
    fused = read_predictions(out / "predictions_test.csv")
    expected = (
        read_predictions(a / "predictions_test.csv") + read_predictions(b / "predictions_test.csv")
    ) / 2
    pd.testing.assert_frame_equal(fused.sort_index(), expected.sort_index())
    metrics = json.loads((out / "metrics.json").read_text())
    labels = read_test_labels(project / "test_labels.csv", sorted(IDS["test"]))
    assert metrics["splits"]["test"]["mean_pearson"] == pytest.approx(
        mean_pearson(labels.to_numpy(), fused.loc[labels.index].to_numpy())
    )
    assert (
        metrics["system"] == "fusion"
        and metrics["modalities"] == "VA"
        and metrics["epochs_run"] == 0
    )
    for name in ("members.json", "predictions_train.csv", "predictions_valid.csv"):
        assert (out / name).is_file()
    # an average trains nothing: no timing in metrics.json, no timing.json
    assert "train_seconds" not in metrics and not (out / "timing.json").exists()


def test_submission_format_from_best_variant(project):
    runs = [_fake_run(project, "sys", "good", s, 0.5 + 0.01 * s, 0.1 * s) for s in (0, 1)]
    runs += [_fake_run(project, "sys", "bad", s, 0.3, 0.9) for s in (0, 1)]
    out = project / "submission" / "sys.csv"
    assert (
        main(
            [
                "submit",
                "--runs",
                *map(str, runs),
                "--manifest",
                str(project / "manifest.tsv"),
                "--out",
                str(out),
                "--info",
                str(project / "sys.json"),
            ]
        )
        == 0
    )
    text = out.read_text().splitlines()
    assert text[0] == "Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy"
    frame = pd.read_csv(out)
    assert frame["Filename"].tolist() == [
        7,
        8,
        9,
        10,
    ]  # sorted integers, broken clip 00008 included
    assert text[1].startswith("7,")
    good = (
        read_predictions(runs[0] / "predictions_test.csv")
        + read_predictions(runs[1] / "predictions_test.csv")
    ) / 2
    np.testing.assert_allclose(frame[list(EMOTIONS)].to_numpy(), good.sort_index().to_numpy())
    assert frame[list(EMOTIONS)].to_numpy().max() <= 1.0
    info = json.loads((project / "sys.json").read_text())
    assert info["variant"] == "good" and info["n_broken_test_clips"] == 1
    check_submission(out, IDS["test"])


def test_check_submission_rejects_missing_clip_and_bad_values(project):
    out = project / "s.csv"
    frame = pd.DataFrame(
        [[7, *[0.5] * 6], [9, *[0.5] * 6], [10, *[0.5] * 6]], columns=["Filename", *EMOTIONS]
    )
    frame.to_csv(out, index=False)
    with pytest.raises(ValueError, match="sorted test clips"):
        check_submission(out, IDS["test"])
    frame = pd.DataFrame([[i, *[1.5] * 6] for i in (7, 8, 9, 10)], columns=["Filename", *EMOTIONS])
    frame.to_csv(out, index=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_submission(out, IDS["test"])


def test_choose_variant_ties_and_mixed_systems(project):
    a = [_fake_run(project, "sys", v, 0, 0.4, 0.1) for v in ("zeta", "alpha")]
    assert choose_variant(a)[0] == "alpha"
    other = _fake_run(project, "other", "v", 0, 0.9, 0.1)
    with pytest.raises(ValueError, match="one system"):
        choose_variant([*a, other])


def test_incomplete_predictions_are_rejected(project):
    run = _fake_run(project, "sys", "v", 0, 0.4, 0.1)
    write_predictions(IDS["test"][:3], np.zeros((3, 6)), run / "predictions_test.csv")
    with pytest.raises(ValueError, match="00010"):
        main(
            [
                "submit",
                "--runs",
                str(run),
                "--manifest",
                str(project / "manifest.tsv"),
                "--out",
                str(project / "x.csv"),
            ]
        )


def test_test_labels_hidden_or_incomplete(project):
    assert read_test_labels("", IDS["test"]) is None
    (project / "empty.csv").write_text("Filename," + ",".join(EMOTIONS) + "\n")
    assert read_test_labels(project / "empty.csv", IDS["test"]) is None
    with pytest.raises(KeyError, match="00011"):
        read_test_labels(project / "test_labels.csv", [*IDS["test"], "00011"])


def test_predictions_are_raw_and_only_the_submission_is_clipped(project):
    """Runs keep and are scored on their raw outputs (no source says the challenge clips); the
    ABAW submission file is clipped to the labels' range."""
    runs = [_fake_run(project, "raw", "V", s, 0.4, offset) for s, offset in ((0, 0.8), (1, 1.0))]
    low = read_predictions(runs[0] / "predictions_test.csv")
    high = read_predictions(runs[1] / "predictions_test.csv")
    assert high.to_numpy().max() == pytest.approx(1.3)
    out = project / "raw.csv"
    argv = ["submit", "--runs", *map(str, runs), "--manifest", str(project / "manifest.tsv")]
    assert main([*argv, "--out", str(out)]) == 0
    frame = pd.read_csv(out).set_index("Filename")
    mean = ((low + high) / 2).sort_index().to_numpy()
    np.testing.assert_allclose(frame.to_numpy(), np.clip(mean, 0, 1))
    assert frame.to_numpy().max() == 1.0 and (mean > 1).any()
    check_submission(out, IDS["test"])
    with pytest.raises(ValueError, match="must be finite"):
        write_predictions(["00000"], np.full((1, 6), np.nan), project / "nan.csv")

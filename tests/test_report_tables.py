"""Tables equal a direct computation from the run files; intervals hold the point estimate."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emibench.environment.lock import file_sha256
from emibench.evaluate.metrics import mean_pearson, pearson_per_emotion
from emibench.report.bootstrap import bootstrap_pearson
from report_fake_runs import REPORT_CONFIG, make_fake_project

LOCK = Path(__file__).resolve().parents[1] / "envs" / "requirements.lock"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    fake = make_fake_project(root)
    cfg = json.dumps(REPORT_CONFIG)
    out = root / "out"
    subprocess.run(
        [
            "emibench",
            "collect",
            "--runs",
            *map(str, fake["runs"]),
            "--results",
            str(out / "results.tsv"),
            "--metrics",
            str(out / "metrics.json"),
            "--lock",
            str(LOCK),
            "--config",
            cfg,
        ],
        check=True,
    )
    tables = [
        str(out / "tables" / f"{t}.{ext}")
        for t in ("table2", "table3", "systems", "per_emotion")
        for ext in ("csv", "md", "tex")
    ]
    subprocess.run(
        [
            "emibench",
            "tables",
            "--results",
            str(out / "results.tsv"),
            "--manifest",
            str(fake["manifest"]),
            "--test-labels",
            str(fake["test_labels"]),
            "--latents",
            str(fake["latents"]),
            "--config",
            cfg,
            "--table1-csv",
            str(fake["table1_csv"]),
            "--outputs",
            *tables,
            str(out / "tables" / "table1.tex"),
        ],
        check=True,
    )
    return fake, out


def direct_scores(fake, system, variant, split):
    """Mean Pearson of each seed, computed from the prediction files against the labels."""
    ids = fake["ids"][split]
    labels = fake["labels"][split]
    scores = []
    for seed in (0, 1, 2):
        run = fake["root"] / "runs" / system / variant / f"seed{seed}"
        pred = (
            pd.read_csv(run / f"predictions_{split}.csv", dtype={"id": str})
            .set_index("id")
            .loc[ids]
        )
        scores.append(mean_pearson(labels, pred.to_numpy()))
    return np.array(scores)


def test_collect_is_one_long_row_per_run_split_emotion(project):
    fake, out = project
    results = pd.read_csv(out / "results.tsv", sep="\t")
    assert len(results) == len(fake["runs"]) * 2 * 7
    assert set(results["emotion"]) == {*pearson_per_emotion(np.eye(6), np.eye(6)), "mean"}
    metrics = json.loads((out / "metrics.json").read_text())
    expected = direct_scores(fake, "dscmn", "VAT", "valid").mean()
    assert metrics["valid"]["systems"]["dscmn"]["VAT"] == pytest.approx(expected, abs=1e-4)


def test_collect_records_the_environment_and_nothing_that_varies(project, tmp_path):
    fake, out = project
    environment = json.loads((out / "metrics.json").read_text())["environment"]
    assert environment["lock"]["sha256"] == file_sha256(LOCK)
    assert environment["devices"] == ["cpu"]  # the fake runs' device; fused runs have none
    assert {"torch", "transformers", "open_clip_torch", "snakemake", "numpy"} <= set(
        environment["packages"]
    )
    again = tmp_path / "metrics.json"
    subprocess.run(
        ["emibench", "collect", "--runs", *map(str, fake["runs"]), "--results"]
        + [str(tmp_path / "results.tsv"), "--metrics", str(again), "--lock", str(LOCK)]
        + ["--config", json.dumps(REPORT_CONFIG)],
        check=True,
    )
    assert again.read_bytes() == (out / "metrics.json").read_bytes()


@pytest.mark.parametrize(
    ("table", "key", "system", "variant"),
    [
        ("table2", "vit_ours", "dscmn", "V"),
        ("table2", "wav2vec2_baseline", "baseline_wav2vec2", "official"),
        ("table3", "vat", "dscmn", "VAT"),
    ],
)
def test_table_cells_equal_direct_computation(project, table, key, system, variant):
    fake, out = project
    frame = pd.read_csv(out / "tables" / f"{table}.csv").set_index("key")
    for split in ("valid", "test"):
        scores = direct_scores(fake, system, variant, split)
        assert frame.loc[key, f"{split}_mean"] == pytest.approx(scores.mean(), abs=1e-9)
        assert frame.loc[key, f"{split}_std"] == pytest.approx(scores.std(ddof=1), rel=1e-6)
        assert (
            frame.loc[key, f"{split}_ci_low"]
            <= frame.loc[key, f"{split}_mean"]
            <= frame.loc[key, f"{split}_ci_high"]
        )


def test_paper_numbers_and_oracle_stand_beside(project):
    fake, out = project
    frame = pd.read_csv(out / "tables" / "table2.csv").set_index("key")
    assert frame.loc["vit_baseline", "paper_v1"] == pytest.approx(0.09)
    assert frame.loc["vit_ours", "paper_v1"] == pytest.approx(0.16)
    assert "paper_v3" not in frame.columns
    systems = pd.read_csv(out / "tables" / "systems.csv").set_index("key")
    assert systems.loc["dscmn", "paper_v1"] == pytest.approx(0.3626)
    assert systems.loc["dscmn", "paper_v3"] == pytest.approx(0.51)
    assert np.isnan(systems.loc[systems.index[0], "paper_v3"])
    latents = pd.read_csv(fake["latents"], dtype={"id": str}).set_index("id")
    ids = fake["ids"]["valid"]
    oracle = mean_pearson(
        fake["labels"]["valid"],
        latents.loc[ids, [c for c in latents if c.startswith("latent_")]].to_numpy(),
    )
    assert frame.loc["oracle", "valid_mean"] == pytest.approx(oracle, abs=1e-9)


def test_markdown_and_latex_render(project):
    _, out = project
    md = (out / "tables" / "table3.md").read_text()
    assert md.startswith("|") and "V+A+T" in md and "0.3626" in md
    tex = (out / "tables" / "table3.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\end{tabular}" in tex
    assert "\\begin{tabular}" in (out / "tables" / "table1.tex").read_text()


def test_bootstrap_interval_contains_point_estimate():
    rng = np.random.default_rng(0)
    y = rng.random((80, 6))
    p = y + rng.normal(0, 0.5, (3, 80, 6))
    result = bootstrap_pearson(y, p, n_resamples=300, seed=1)
    direct = np.mean([list(pearson_per_emotion(y, run).values()) for run in p], axis=0)
    np.testing.assert_allclose(result.point, direct, atol=1e-9)
    assert np.all(result.low <= result.point) and np.all(result.point <= result.high)
    assert np.all(result.high - result.low > 0)

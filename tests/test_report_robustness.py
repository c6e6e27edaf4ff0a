"""Robustness tables equal a direct computation from the stored predictions; figures are drawn."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from emibench.data.tables import read_table
from emibench.evaluate.metrics import mean_pearson
from emibench.report.bootstrap import bootstrap_pearson
from emibench.robustness.oracle import condition_oracle
from emibench.robustness.spec import parse_condition
from report_fake_runs import CONDITIONS, REPORT_CONFIG, make_fake_conditions, make_fake_project

ROBUSTNESS = {
    "seed": 0,
    "splits": ["valid"],
    "conditions": {name: ops for name, (ops, _) in CONDITIONS.items()},
}
TABLES = ("robustness", "robustness_compare", "robustness_weights")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("robustness")
    fake = make_fake_project(root)
    conditions = make_fake_conditions(fake)
    cfg = json.dumps(REPORT_CONFIG)
    out = root / "out"
    run = lambda *args: subprocess.run(["emibench", *map(str, args)], check=True)
    run("collect", "--runs", *fake["runs"], "--results", out / "results.tsv",
        "--metrics", out / "metrics.json", "--config", cfg)  # fmt: skip
    run("collect", "--conditions", "--runs", *conditions,
        "--results", out / "robustness" / "results.tsv",
        "--metrics", out / "robustness" / "metrics.json", "--config", cfg)  # fmt: skip
    tables = [out / "tables" / f"{t}.{ext}" for t in TABLES for ext in ("csv", "md", "tex")]
    run("robustness-tables", "--clean", out / "results.tsv",
        "--results", out / "robustness" / "results.tsv", "--manifest", fake["manifest"],
        "--test-labels", fake["test_labels"], "--latents", fake["latents"], "--config", cfg,
        "--conditions", json.dumps(ROBUSTNESS), "--outputs", *tables)  # fmt: skip
    figures = [out / "figures" / f"{f}.png" for f in ("robustness", "robustness_weights")]
    run("robustness-figures", "--tables", *[t for t in tables if t.suffix == ".csv"],
        "--conditions", json.dumps(ROBUSTNESS), "--outputs", *figures)  # fmt: skip
    return fake, out, figures


def seed_scores(fake, system, variant, condition=None):
    """Mean Pearson of each seed on valid, from the prediction files against the labels."""
    ids, labels = fake["ids"]["valid"], fake["labels"]["valid"]
    scores, preds = [], []
    for seed in (0, 1, 2):
        run = fake["root"] / "runs" / system / variant / f"seed{seed}"
        if condition:
            run = run / "robustness" / condition
        frame = read_table(run / "predictions_valid.csv").set_index("id").loc[ids]
        scores.append(mean_pearson(labels, frame.to_numpy()))
        preds.append(frame.to_numpy())
    return np.array(scores), np.stack(preds)


def test_a_cell_equals_a_direct_computation_from_the_predictions(project):
    fake, out, _ = project
    table = pd.read_csv(out / "tables" / "robustness.csv")
    cell = table[(table["key"] == "dscmn") & (table["condition"] == "audio_removed")].iloc[0]
    scores, preds = seed_scores(fake, "dscmn", "VAT", "audio_removed")
    clean, clean_preds = seed_scores(fake, "dscmn", "VAT")
    assert cell["mean"] == pytest.approx(scores.mean(), abs=1e-9)
    assert cell["std"] == pytest.approx(scores.std(ddof=1), rel=1e-6)
    assert cell["drop"] == pytest.approx(clean.mean() - scores.mean(), abs=1e-9)
    assert cell["n_seeds"] == 3
    boot = REPORT_CONFIG["bootstrap"]
    labels = fake["labels"]["valid"]
    res = bootstrap_pearson(labels, preds, boot["n_resamples"], boot["seed"], boot["level"])
    ref = bootstrap_pearson(labels, clean_preds, boot["n_resamples"], boot["seed"], boot["level"])
    assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((res.mean_low, res.mean_high))
    paired = np.quantile(ref.samples - res.samples, [0.025, 0.975])
    assert (cell["drop_ci_low"], cell["drop_ci_high"]) == pytest.approx(tuple(paired))
    assert cell["drop_ci_low"] <= cell["drop"] <= cell["drop_ci_high"]
    assert cell["drop"] > 0  # the fake condition adds noise to the audio of a V+A+T run


def test_clean_column_and_untouched_modalities(project):
    fake, out, _ = project
    table = pd.read_csv(out / "tables" / "robustness.csv").set_index(["key", "condition"])
    clean, _ = seed_scores(fake, "baseline_vit", "official")
    assert table.loc[("vit", "clean"), "mean"] == pytest.approx(clean.mean(), abs=1e-9)
    assert np.isnan(table.loc[("vit", "clean"), "drop"]) or table.loc[("vit", "clean"), "drop"] == 0
    assert set(table.index.get_level_values("condition")) == {"clean", *CONDITIONS}


def test_oracle_line_follows_the_condition_oracle(project):
    fake, out, _ = project
    table = pd.read_csv(out / "tables" / "robustness.csv").set_index(["key", "condition"])
    latents = read_table(fake["latents"])
    ids = fake["ids"]["valid"]
    for name, (ops, _) in CONDITIONS.items():
        result = condition_oracle(latents, parse_condition(name, ops), "VAT")
        value = table.loc[("oracle", name), "mean"]
        if result is None:
            assert np.isnan(value), name  # noise degrades: undefined
        else:
            direct = mean_pearson(fake["labels"]["valid"], result.predictions.loc[ids].to_numpy())
            assert value == pytest.approx(direct, abs=1e-9), name


def test_comparison_and_weights(project):
    fake, out, _ = project
    compare = pd.read_csv(out / "tables" / "robustness_compare.csv").set_index("condition")
    a, _ = seed_scores(fake, "dscmn", "VAT", "noise0db")
    b, _ = seed_scores(fake, "dscmn", "V", "noise0db")
    row = compare.loc["noise0db"]
    assert row["diff"] == pytest.approx(a.mean() - b.mean(), abs=1e-9)
    assert row["diff_ci_low"] <= row["diff"] <= row["diff_ci_high"]
    assert np.isnan(compare.loc["clean", "drop_diff"])
    weights = pd.read_csv(out / "tables" / "robustness_weights.csv").set_index("condition")
    direct = np.mean(
        [
            read_table(
                fake["root"] / "runs/dscmn/VAT" / f"seed{s}" / "robustness/audio_removed"
                / "fusion_weights_valid.csv"
            )["beta_a"].to_numpy()
            for s in (0, 1, 2)
        ],
        axis=0,
    ).mean()  # fmt: skip
    assert weights.loc["audio_removed", "beta_a"] == pytest.approx(direct, abs=1e-9)
    assert weights.loc["audio_removed", "d_beta_a"] < 0  # the fake moves weight off audio
    assert weights.loc["clean", "d_beta_a"] == 0


def test_markdown_latex_metrics_and_figures(project):
    _, out, figures = project
    md = (out / "tables" / "robustness.md").read_text()
    assert md.startswith("| Method") and "drop" in md and "Oracle" in md
    assert "\\begin{tabular}" in (out / "tables" / "robustness_compare.tex").read_text()
    metrics = json.loads((out / "robustness" / "metrics.json").read_text())
    assert set(metrics["valid"]) == set(CONDITIONS)
    assert "VAT" in metrics["valid"]["noise0db"]["dscmn"]
    for path in figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path

"""Paired comparisons, the tie group, the cost table and the leaderboard, each checked against a
direct computation from the fake project's stored predictions, timing and benchmark files."""

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from emibench.data.tables import read_table
from emibench.evaluate.metrics import mean_pearson
from emibench.evaluate.run_files import read_timing
from emibench.report.bootstrap import holm
from emibench.report.costs import read_benchmark
from emibench.report.pairwise import Compared, compare_family, ranked_pairs, tie_group
from report_fake_runs import (
    COMPOSITES,
    CONDITIONS,
    PARAMS,
    REPORT_CONFIG,
    SEEDS,
    make_fake_conditions,
    make_fake_project,
)

BOOT = REPORT_CONFIG["bootstrap"]


def emibench(*args):
    subprocess.run(["emibench", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaderboard")
    fake = make_fake_project(root)
    conditions = make_fake_conditions(fake)
    cfg = json.dumps(REPORT_CONFIG)
    out = root / "out"
    emibench("collect", "--runs", *fake["runs"], "--results", out / "results.tsv",
             "--metrics", out / "metrics.json", "--config", cfg)  # fmt: skip
    emibench("collect", "--conditions", "--runs", *conditions,
             "--results", out / "robustness" / "results.tsv",
             "--metrics", out / "robustness" / "metrics.json", "--config", cfg)  # fmt: skip
    tables = [
        out / "tables" / f"{t}.{ext}"
        for t in ("systems", "ablations", "pairwise")
        for ext in ("csv", "md", "tex")
    ]
    emibench("tables", "--results", out / "results.tsv", "--manifest", fake["manifest"],
             "--test-labels", fake["test_labels"], "--config", cfg, "--outputs", *tables)  # fmt: skip
    outputs = [out / "tables" / f"leaderboard.{ext}" for ext in ("csv", "md", "tex", "html")]
    outputs += [out / "tables" / f"costs.{ext}" for ext in ("csv", "md", "tex")]
    stage1 = {seed: list(map(str, paths)) for seed, paths in fake["stage1_benchmarks"].items()}
    emibench("leaderboard", "--results", out / "results.tsv",
             "--table", out / "tables" / "systems.csv",
             "--robustness", out / "robustness" / "results.tsv",
             "--benchmarks", json.dumps({k: str(v) for k, v in fake["benchmarks"].items()}),
             "--stage1-benchmarks", json.dumps(stage1), "--config", cfg,
             "--outputs", *outputs)  # fmt: skip
    return fake, out


def predictions(fake, system, variant, split="valid"):
    """(S, N, 6) predictions of every seed of a run, in the labels' clip order."""
    ids = fake["ids"][split]
    return np.stack(
        [
            read_table(
                fake["root"] / "runs" / system / variant / f"seed{s}" / f"predictions_{split}.csv"
            )
            .set_index("id")
            .loc[ids]
            .to_numpy()
            for s in SEEDS
        ]
    )


def test_one_paired_interval_equals_a_direct_computation(project):
    """DSCMN V+A+T minus the ViT baseline on valid, recomputed resample by resample: the same
    clips drawn for both systems, each seed's mean Pearson on them averaged over seeds."""
    fake, out = project
    pairwise = pd.read_csv(out / "tables" / "pairwise.csv")
    row = pairwise[
        (pairwise["family"] == "systems")
        & (pairwise["split"] == "valid")
        & (pairwise["a"] == "dscmn")
        & (pairwise["b"] == "baseline_vit")
    ].iloc[0]
    y = fake["labels"]["valid"]
    a, b = predictions(fake, "dscmn", "VAT"), predictions(fake, "baseline_vit", "official")
    n = len(y)
    draws = np.random.default_rng(BOOT["seed"]).integers(0, n, size=(BOOT["n_resamples"], n))
    diffs = [
        np.mean([mean_pearson(y[i], p[i]) for p in a])
        - np.mean([mean_pearson(y[i], p[i]) for p in b])
        for i in draws
    ]
    point = np.mean([mean_pearson(y, p) for p in a]) - np.mean([mean_pearson(y, p) for p in b])
    tail = (1 - BOOT["level"]) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    assert row["diff"] == pytest.approx(point, abs=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    se = np.std(diffs, ddof=1)
    assert row["se"] == pytest.approx(se, rel=1e-6)
    assert row["p"] == pytest.approx(math.erfc(abs(point) / se / math.sqrt(2)), rel=1e-6)
    assert row["ci_low"] > 0 and row["distinguishable"]  # planted: far less noise than ViT


def test_holm_steps_down():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    assert holm([]).shape == (0,)
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, 1.2])


def test_the_table_holds_holm_over_each_family(project):
    _, out = project
    pairwise = pd.read_csv(out / "tables" / "pairwise.csv")
    n_systems = len(REPORT_CONFIG["tables"]["systems"]["rows"])
    for (family, _split), group in pairwise.groupby(["family", "split"]):
        np.testing.assert_allclose(group["p_holm"], holm(group["p"].to_numpy()))
        assert (group["distinguishable"] == (group["p_holm"] < 1 - BOOT["level"])).all()
        expected = n_systems * (n_systems - 1) // 2 if family == "systems" else 1
        assert len(group) == expected == group["n_comparisons"].iloc[0]
    ablation = pairwise[pairwise["family"] == "ablations:ablations"]
    assert set(ablation["a"]) == {"v_only"} and set(ablation["b"]) == {"full"}
    assert (ablation["diff"] < 0).all()  # the visual-only model has more planted noise
    caption = (out / "tables" / "pairwise.md").read_text()
    assert "Holm" in caption and "paired" in caption


def test_the_tie_group_is_the_best_and_what_is_not_distinguishable_from_it(project):
    _, out = project
    systems = pd.read_csv(out / "tables" / "systems.csv", keep_default_na=False)
    rows = systems[systems["key"] != "oracle"]
    best = rows.loc[rows["valid_mean"].astype(float).idxmax(), "key"]
    pairwise = pd.read_csv(out / "tables" / "pairwise.csv")
    with_best = pairwise[
        (pairwise["family"] == "systems")
        & (pairwise["split"] == "valid")
        & ((pairwise["a"] == best) | (pairwise["b"] == best))
    ]
    tied = {
        r["b"] if r["a"] == best else r["a"]
        for _, r in with_best.iterrows()
        if not r["distinguishable"]
    }
    marks = dict(zip(rows["key"], rows["valid_tie"]))
    assert marks[best] == "best"
    assert {k for k, m in marks.items() if m == "tied"} == tied
    assert "baseline_vit" not in tied  # planted far worse
    md = (out / "tables" / "systems.md").read_text()
    assert "Tie group (valid)" in md and "| best |" in md


def test_tie_group_of_near_copies():
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.02, 500)
    rows = [
        Compared("a", "A", 0.50, base),
        Compared("b", "B", 0.499, base - 0.001 + rng.normal(0, 0.01, 500)),
        Compared("c", "C", 0.30, base - 0.2 + rng.normal(0, 0.01, 500)),
    ]
    records = compare_family("systems", "valid", ranked_pairs(rows), 0.95)
    assert [(r["a"], r["b"]) for r in records] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert tie_group(rows, records) == {"a": "best", "b": "tied", "c": ""}


def _timing_means(fake, system, variant):
    timings = [
        json.loads(
            (fake["root"] / "runs" / system / variant / f"seed{s}" / "timing.json").read_text()
        )
        for s in SEEDS
    ]
    train = np.mean([t["train_seconds"] for t in timings])
    per_clip = np.mean([1e3 * t["predict_seconds"] / t["n_predicted_clips"] for t in timings])
    return train, per_clip


def test_cost_columns_come_from_the_run_and_benchmark_files(project):
    fake, out = project
    costs = pd.read_csv(out / "tables" / "costs.csv", keep_default_na=False).set_index(
        ["system", "variant"]
    )
    stage1 = [read_benchmark(p) for p in fake["stage1_benchmarks"]["0"]]
    own = {}
    for name, bench in fake["benchmarks"].items():
        system, variant = name.split("/")
        n_params, n_encoder, encoder_lr = PARAMS[name]
        train, per_clip = _timing_means(fake, system, variant)
        own[name] = {
            "n_params": n_params,
            "n_trained_params": n_params - (0 if encoder_lr > 0 else n_encoder),
            "n_encoder_params_trained": n_encoder if encoder_lr > 0 else 0,
            "train_seconds": train,
            "predict_ms_per_clip": per_clip,
            "peak_rss_mb": read_benchmark(bench)["max_rss_mb"],
        }
        row = costs.loc[(system, variant)]
        if row["kind"] == "trained":
            for column, value in own[name].items():
                assert float(row[column]) == pytest.approx(value), (name, column)
            assert row["device"] == "cpu"
    assert float(costs.loc[("dscmn", "VAT"), "n_encoder_params_trained"]) == 4000
    assert float(costs.loc[("dscmn", "V"), "n_trained_params"]) == 2000  # frozen encoders
    for system, variant, kind, members in COMPOSITES:
        row = costs.loc[(system, variant)]
        parts = [own[m] for m in members] + (
            [own[f"{system}/{variant}"]] if kind == "stack" else []
        )
        for column in ("n_params", "n_trained_params", "train_seconds", "predict_ms_per_clip"):
            assert float(row[column]) == pytest.approx(sum(p[column] for p in parts)), column
        assert float(row["peak_rss_mb"]) == max(p["peak_rss_mb"] for p in parts)
        assert row["members"] == " + ".join(members)
        assert row["kind"] == {"fuse": "fused", "stack": "stacked"}[kind]
    on_stage1 = costs["stage1_seconds"] != ""
    assert set(costs.index[on_stage1]) == {("dscmn", "V"), ("dscmn", "VAT"), ("late_fusion", "VAT")}
    assert float(costs.loc[("dscmn", "V"), "stage1_seconds"]) == sum(b["seconds"] for b in stage1)
    assert float(costs.loc[("dscmn", "V"), "stage1_peak_rss_mb"]) == 700.0
    md = (out / "tables" / "costs.md").read_text()
    assert "(CPU)" in md and "MB" in md


def test_leaderboard_files(project):
    fake, out = project
    board = pd.read_csv(out / "tables" / "leaderboard.csv", keep_default_na=False)
    systems = pd.read_csv(out / "tables" / "systems.csv").set_index("key")
    keys = [r["key"] for r in REPORT_CONFIG["tables"]["systems"]["rows"]]
    assert sorted(board["key"]) == sorted(keys)
    assert list(board["rank"]) == list(range(1, len(keys) + 1))
    assert list(board["mean"]) == sorted(systems.loc[keys, "valid_mean"], reverse=True)
    assert board["tie"].iloc[0] == "best"
    # robustness: clean minus condition mean over seeds, averaged over the conditions
    ids, y = fake["ids"]["valid"], fake["labels"]["valid"]
    clean = np.mean([mean_pearson(y, p) for p in predictions(fake, "dscmn", "VAT")])
    drops = []
    for condition in CONDITIONS:
        scores = [
            mean_pearson(
                y,
                read_table(
                    fake["root"] / "runs" / "dscmn" / "VAT" / f"seed{s}" / "robustness"
                    / condition / "predictions_valid.csv"
                ).set_index("id").loc[ids].to_numpy(),
            )
            for s in SEEDS
        ]  # fmt: skip
        drops.append(clean - np.mean(scores))
    dscmn = board.set_index("key").loc["dscmn"]
    assert float(dscmn["robustness_mean_drop"]) == pytest.approx(np.mean(drops), abs=1e-9)
    assert int(dscmn["robustness_n_conditions"]) == len(CONDITIONS)
    fused = board.set_index("key").loc["baseline_fusion"]
    assert fused["robustness_mean_drop"] == "" and int(fused["robustness_n_conditions"]) == 0
    costs = pd.read_csv(out / "tables" / "costs.csv").set_index(["system", "variant"])
    assert float(dscmn["peak_rss_mb"]) == costs.loc[("dscmn", "VAT"), "peak_rss_mb"]
    md = (out / "tables" / "leaderboard.md").read_text()
    assert "Holm" in md and "(CPU)" in md and "DSCMN (V+A+T)" in md
    assert "\\begin{tabular}" in (out / "tables" / "leaderboard.tex").read_text()
    page = (out / "tables" / "leaderboard.html").read_text()
    assert 'id="emibench-leaderboard"' in page and "<script>" in page
    assert page.count("<tr>") == len(keys) + 1 and "data-sort=" in page


def test_bad_cost_files_name_the_file(tmp_path):
    bad = tmp_path / "bench.tsv"
    bad.write_text("s\tmax_vms\n1.0\t2.0\n")
    with pytest.raises(ValueError, match=r"bench\.tsv.*Snakemake benchmark"):
        read_benchmark(bad)
    bad.write_text("s\tmax_rss\n1.0\tlots\n")
    with pytest.raises(ValueError, match=r"bench\.tsv.*'lots'"):
        read_benchmark(bad)
    bad.write_text("s\tmax_rss\n1.0\t-\n")
    assert math.isnan(read_benchmark(bad)["max_rss_mb"])  # a job too short to be sampled
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(FileNotFoundError, match="timing.json"):
        read_timing(run)
    (run / "timing.json").write_text(json.dumps({"train_seconds": 1.0, "predict_seconds": -1}))
    with pytest.raises(ValueError, match=r"timing\.json: 'predict_seconds'"):
        read_timing(run)

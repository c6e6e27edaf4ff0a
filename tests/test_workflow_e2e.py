"""The whole DAG, synthesis to report, on a tiny synthetic set; then a rerun has nothing to do.

The run also follows docs/own-system.md: a throwaway package, installed into a temporary folder
that Snakemake's PYTHONPATH carries, registers a model under the entry-point group; its system is
added to the config as the page says and must reach the results, the systems table and a
submission like the built-ins. Every path that dvc.yaml tracks must exist afterwards, and every
score must equal the committed reference (reference/e2e.tsv).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from own_system_doc import add_to_config, install_package, write_package

REPO = Path(__file__).resolve().parents[1]
# Robustness conditions of the demo the test runs (config files merge, so the test's copy of
# config/config.yaml keeps these); one that changes frames and one that changes audio.
CONDITIONS = ("occlusion50", "babble0db")
ADDED = "text_removed"  # added afterwards: only its branch (and the report) may run
REFERENCE = REPO / "reference" / "e2e.tsv"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    for name in ("Snakefile", "workflow", "config", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    shutil.copy(REPO / "tests" / "e2e.yaml", work / "e2e.yaml")
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    conditions = config["robustness"]["conditions"]
    (work / "added.yaml").write_text(
        yaml.safe_dump({"robustness": {"conditions": {ADDED: conditions[ADDED]}}})
    )
    config["robustness"]["conditions"] = {c: conditions[c] for c in CONDITIONS}
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    own = tmp_path_factory.mktemp("own_system")
    install_package(write_package(own), own / "site")
    (work / "own_site.txt").write_text(str(own / "site"))
    (work / "own_systems.txt").write_text("\n".join(add_to_config(work / "config/config.yaml")))
    return work


def runs_of(results):
    """The (system, variant) pairs of the results table."""
    return results[["system", "variant"]].drop_duplicates()


def dvc_tracked_paths(dataset):
    """The outs, metrics and plots of dvc.yaml's stage, for a config whose dataset.name is given."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["benchmark"]
    entries = [e for key in ("outs", "metrics", "plots") for e in stage.get(key, [])]
    paths = [next(iter(e)) if isinstance(e, dict) else e for e in entries]
    return [p.replace("${snakemake.dataset}", dataset) for p in paths]


def snakemake(work, *args, extra=()):
    cmd = ["snakemake", *args, "--cores", "2", "--configfile", "config/config.yaml", "e2e.yaml"]
    site = (work / "own_site.txt").read_text()
    paths = [p for p in (site, os.environ.get("PYTHONPATH")) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [*cmd, *extra], cwd=work, env=env, check=False, capture_output=True, text=True, timeout=1500
    )


@pytest.fixture(scope="module")
def dag(workdir):
    """The whole DAG, run once for the tests of this module."""
    return snakemake(workdir, "all")


@pytest.mark.slow
def test_whole_dag_runs_and_is_complete(workdir, dag):
    assert dag.returncode == 0, dag.stderr[-6000:]
    out = workdir / "results" / "e2e"

    manifest = pd.read_csv(out / "manifest.tsv", sep="\t", dtype={"id": str})
    assert (manifest["status"] == "broken").any(), "edge cases include a truncated clip"
    results = pd.read_csv(out / "results.tsv", sep="\t")
    assert {"system", "variant", "seed", "split", "emotion", "pearson"} <= set(results.columns)
    assert results["pearson"].between(-1, 1).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics

    test_ids = set(manifest.loc[manifest["split"] == "test", "id"].astype(int))
    for submission in (out / "submission").glob("*.csv"):
        frame = pd.read_csv(submission)
        assert set(frame["Filename"]) == test_ids, submission
        assert frame.drop(columns="Filename").stack().between(0, 1).all()
    assert (out / "report" / "report.html").stat().st_size > 10_000

    own = (workdir / "own_systems.txt").read_text().split()
    peers = ["concat_mlp", "pooled_mlp", "late_fusion"]
    assert set(own + peers) <= set(results["system"])
    systems_table = pd.read_csv(out / "tables" / "systems.csv")
    assert set(own + peers) <= set(systems_table["key"])
    for system in own + peers:
        assert (out / "submission" / f"{system}.csv").is_file(), system
    # the leaderboard: every systems row (the own system too) ranked, tie group, costs measured
    board = pd.read_csv(out / "tables" / "leaderboard.csv")
    assert sorted(board["key"]) == sorted(
        systems_table.loc[systems_table["key"] != "oracle", "key"]
    )
    assert (board["tie"] == "best").sum() == 1 and set(own) <= set(board["system"])
    for column in ("n_params", "train_seconds", "peak_rss_mb", "predict_ms_per_clip"):
        assert (board[column] > 0).all(), column
    assert (board["robustness_n_conditions"] == len(CONDITIONS)).all()
    costs = pd.read_csv(out / "tables" / "costs.csv")
    assert len(costs) == len(runs_of(results)) and (costs["device"] == "cpu").all()
    pairwise = pd.read_csv(out / "tables" / "pairwise.csv")
    assert {"systems", "ablations:ablations"} <= set(pairwise["family"])
    assert (out / "figures" / "pairwise.png").stat().st_size > 1000
    assert 'id="emibench-leaderboard"' in (out / "report" / "report.html").read_text()
    assert (out / "runs" / own[0] / "VAT_stage1" / "seed0" / "fusion_weights_test.csv").is_file()
    robustness = pd.read_csv(out / "robustness" / "results.tsv", sep="\t")
    assert set(robustness["condition"]) == set(CONDITIONS)
    runs = results[["system", "variant", "seed"]].drop_duplicates()
    assert len(robustness[["system", "variant", "seed", "condition"]].drop_duplicates()) == len(
        runs
    ) * len(CONDITIONS)
    table = pd.read_csv(out / "tables" / "robustness.csv")
    assert {"clean", *CONDITIONS} <= set(table["condition"])
    for name in ("robustness", "robustness_compare", "robustness_weights"):
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{name}.{ext}").stat().st_size > 0
    for name in ("robustness", "robustness_weights"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert "Robustness" in (out / "report" / "report.html").read_text()
    assert not list((out / "robustness").glob("*/frames/*/*.h5")), "temp() frames are removed"
    for path in dvc_tracked_paths("e2e"):
        assert (workdir / path).exists(), f"dvc.yaml tracks {path}, which the DAG did not make"

    rerun = snakemake(workdir, "all", "-n")
    assert rerun.returncode == 0
    assert "Nothing to be done" in rerun.stdout + rerun.stderr

    added = snakemake(workdir, "all", "-n", "--quiet", "rules", extra=["added.yaml"])
    assert added.returncode == 0, added.stderr[-3000:]
    jobs = {
        line.split()[0]: int(line.split()[-1])
        for line in added.stdout.splitlines()
        if line.strip() and line.split()[-1].isdigit() and not line.startswith("total")
    }
    branch = {
        "robustness_remove_text",
        "robustness_features",
        "robustness_predict",
        "collect_robustness",
        "robustness_tables",
        "robustness_figures",
        "leaderboard",  # its robustness column reads the conditions' results
        "report",
        "all",
    }
    # one predict job per condition: the added one
    assert jobs.get("robustness_predict") == 1 and set(jobs) <= branch, jobs


@pytest.mark.slow
def test_scores_equal_the_reference(workdir, dag):
    """Every score of the run (system, variant, seed, split, emotion) equals reference/e2e.tsv
    within emibench.report.reference.TOLERANCE; EMIBENCH_UPDATE_REFERENCE=1 rewrites the
    reference from this run first (commit it with the change that moved the scores)."""
    assert dag.returncode == 0, dag.stderr[-3000:]
    check = ["emibench", "check-scores", "--results", str(workdir / "results/e2e/results.tsv")]
    check += ["--reference", str(REFERENCE)]
    if os.environ.get("EMIBENCH_UPDATE_REFERENCE") == "1":
        subprocess.run([*check, "--update"], check=True)
    result = subprocess.run(check, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-8000:]

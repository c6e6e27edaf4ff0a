"""The whole DAG, synthesis to report, on a tiny synthetic set; then a rerun has nothing to do."""

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    for name in ("Snakefile", "workflow", "config", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    shutil.copy(REPO / "tests" / "e2e.yaml", work / "e2e.yaml")
    return work


def snakemake(work, *args):
    cmd = ["snakemake", *args, "--cores", "2", "--configfile", "config/config.yaml", "e2e.yaml"]
    return subprocess.run(cmd, cwd=work, check=False, capture_output=True, text=True, timeout=1500)


@pytest.mark.slow
def test_whole_dag_runs_and_is_complete(workdir):
    result = snakemake(workdir, "all")
    assert result.returncode == 0, result.stderr[-6000:]
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

    rerun = snakemake(workdir, "all", "-n")
    assert rerun.returncode == 0
    assert "Nothing to be done" in rerun.stdout + rerun.stderr

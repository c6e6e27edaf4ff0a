"""The default config on one's own root: `--configfile config/config.yaml my_root.yaml` with only
dataset.name/source/root runs the whole DAG on a root in the real Hume-Vidmimic2 layout (labels
of test hidden, no phrase bank, organiser features present), and the outputs say so."""

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from emibench.data.fake_root import FakeRootSettings, make_fake_root

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_default_config_runs_on_a_real_layout_root_given_only_its_dataset_keys(tmp_path):
    for name in ("Snakefile", "workflow", "config", "envs"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    root = make_fake_root(
        tmp_path / "my_root",
        FakeRootSettings(clips={"train": 5, "valid": 4, "test": 3}, long_clip_s=15.0),
    )
    mine = {"dataset": {"name": "mine", "source": "local", "root": str(root)}}
    (tmp_path / "my_root.yaml").write_text(yaml.safe_dump(mine))
    cmd = ["snakemake", "--cores", "2", "all"]
    cmd += ["--configfile", "config/config.yaml", "my_root.yaml"]
    done = subprocess.run(
        cmd, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=1500
    )
    assert done.returncode == 0, done.stderr[-6000:]

    out = tmp_path / "results" / "mine"
    systems = pd.read_csv(out / "tables" / "systems.csv")
    assert systems["valid_mean"].notna().all()
    assert not systems.filter(like="test_mean").notna().any(axis=None)
    test_ids = set(pd.read_csv(root / "test_split.csv")["Filename"])
    for submission in (out / "submission").glob("*.csv"):
        assert set(pd.read_csv(submission)["Filename"]) == test_ids, submission
    transcripts = pd.read_csv(out / "transcripts" / "train.tsv", sep="\t")
    assert transcripts["backend"].str.contains("pocketsphinx").all()
    official = (out / "logs" / "features" / "official_train.log").read_text()
    assert "organiser visual features" in official and "organiser audio features" in official

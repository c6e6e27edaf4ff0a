"""A bad config fails before any job runs, naming the key; the shipped configs and test overlays validate."""

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def dry_run(tmp_path, *configfiles, extra=()):
    cmd = [
        "snakemake",
        "-n",
        "--quiet",
        "rules",
        "all",
        "--configfile",
        *map(str, configfiles),
        *extra,
    ]
    return subprocess.run(cmd, cwd=REPO, check=False, capture_output=True, text=True, timeout=300)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"dataset": {"nmae": "x"}}, "config key dataset: unknown key(s) 'nmae'"),
        ({"shards": {"train": "four"}}, "config key shards.train: 'four' is not of type integer"),
        ({"dataset": {"source": "ftp"}}, "config key dataset.source: 'ftp' is not one of"),
        ({"colour": 1}, "config key (top level): unknown key(s) 'colour'"),
        ({"report": 5}, "config key report: 5 is not of type object"),
    ],
)
def test_bad_config_names_the_key(tmp_path, override, message):
    result = dry_run(tmp_path, REPO / "config/config.yaml", write(tmp_path, "bad.yaml", override))
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_missing_dataset_root_is_named(tmp_path):
    override = write(tmp_path, "root.yaml", {"dataset": {"root": str(tmp_path / "nowhere")}})
    result = dry_run(tmp_path, REPO / "config/vidmimic2.yaml", override)
    assert result.returncode != 0
    assert "dataset.root" in result.stderr + result.stdout
    assert "nowhere" in result.stderr + result.stdout


def test_default_config_dry_runs():
    result = subprocess.run(
        ["snakemake", "-n", "--quiet", "rules", "all"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_real_config_dry_runs_on_a_fake_root(tmp_path):
    from fake_vidmimic2 import make_root

    root = make_root(tmp_path / "root")
    result = dry_run(
        tmp_path,
        REPO / "config/vidmimic2.yaml",
        write(tmp_path, "root.yaml", {"dataset": {"root": str(root)}}),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "overlays",
    [("tests/e2e.yaml",), ("tests/e2e.yaml", "tests/cluster/gpu.yaml")],
    ids=["e2e", "e2e+slurm-gpu"],
)
def test_test_overlays_dry_run(tmp_path, overlays):
    """The overlays that the e2e, DVC and SLURM tests lay over the demo validate and plan."""
    result = dry_run(tmp_path, REPO / "config/config.yaml", *(REPO / o for o in overlays))
    assert result.returncode == 0, result.stderr + result.stdout

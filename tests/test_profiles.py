"""The profiles: profiles/default is live for a plain `snakemake`, and profiles/slurm names every
rule of every config with a partition and keeps the real config to hundreds of cluster jobs."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SLURM = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
GPU_RULES = {"features", "features_visual", "stage1", "train"}
GPU_RULES |= {
    "transcribe",
    "transcribe_set",
    "robustness_transcribe",
    "robustness_transcribe_set",
}  # Whisper (the demo's PocketSphinx: none)
GPU_RULES |= {"robustness_features", "robustness_predict"}


def run(*args):
    result = subprocess.run(
        ["snakemake", *args], cwd=REPO, check=False, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def snakemake(*args):
    result = run(*args)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    """Config overlays that point config/vidmimic2.yaml at a fake root, local and url sources."""
    tmp = tmp_path_factory.mktemp("vidmimic2")
    subprocess.run(["python3", "tests/fake_vidmimic2.py", str(tmp / "root")], cwd=REPO, check=True)
    local = tmp / "root.yaml"
    local.write_text(yaml.safe_dump({"dataset": {"root": str(tmp / "root")}}))
    url = tmp / "url.yaml"
    url.write_text(yaml.safe_dump({"dataset": {"source": "url"}}))
    return local, url


def configs(real_root):
    local, url = real_root
    both = local.parent / "robust_test.yaml"
    both.write_text(yaml.safe_dump({"robustness": {"splits": ["valid", "test"]}}))
    return {
        "demo": [],
        "demo, robustness on valid and test": ["--configfile", "config/config.yaml", str(both)],
        "real": ["--configfile", "config/vidmimic2.yaml", str(local)],
        "real, url source": ["--configfile", "config/vidmimic2.yaml", str(local), str(url)],
    }


def test_default_profile_is_applied():
    with_profile = snakemake("-n")
    assert "workflow specific profile profiles/default" in with_profile
    assert "Shell command: emibench " in with_profile, "printshellcmds comes from the profile"
    without = snakemake("-n", "--workflow-profile", "none")
    assert "Shell command:" not in without


def test_slurm_profile_names_every_rule_with_a_partition(real_root):
    named = SLURM["set-resources"]
    seen = set()
    for args in configs(real_root).values():
        rules = set(run("--list-rules", *args).stdout.split()) - {"all"}
        seen |= rules
        missing = rules - set(named)
        assert not missing, f"profiles/slurm has no entry for {sorted(missing)}"
    assert set(named) == seen, f"entries for no rule: {sorted(set(named) - seen)}"
    for rule, resources in named.items():
        assert resources["slurm_partition"] == ("gpu" if rule in GPU_RULES else "cpu"), rule
    assert set(SLURM["groups"]) <= seen
    assert set(SLURM["group-components"]) <= set(SLURM["groups"].values())


def cluster_jobs(*args):
    """SLURM submissions of a dry run through profiles/slurm: group jobs plus ungrouped jobs."""
    text = snakemake("-n", "--profile", "profiles/slurm", *args)
    groups = len(re.findall(r"^\[[^\]]+\] Group job ", text, re.MULTILINE))
    single = len(re.findall(r"^rule \w+:", text, re.MULTILINE))
    jobs = int(re.search(r"^total\s+(\d+)", text, re.MULTILINE).group(1)) - 1
    return groups + single, jobs


def test_grouping_keeps_the_real_config_to_hundreds_of_cluster_jobs(real_root):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    real = configs(real_root)["real"]
    submissions, jobs = cluster_jobs("all", *real)
    print(f"real config: {jobs} jobs in {submissions} SLURM submissions")
    # 384 of them are Whisper shards (two transcript sets, clean and under the asr conditions),
    # one GPU job each: grouped, Snakemake would ask for their GPUs together
    assert 100 <= submissions < 700 and submissions < jobs
    demo_submissions, demo_jobs = cluster_jobs("all")
    print(f"demo config: {demo_jobs} jobs in {demo_submissions} SLURM submissions")
    assert demo_submissions < demo_jobs

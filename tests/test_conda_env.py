"""envs/emibench.yaml: a valid conda environment whose pip section still finds the checkout after
Snakemake copies the file to .snakemake/conda/ (conda hands the pip lines to `pip install -r` in
the folder of the file it reads). Without conda here, the copy and pip's step are done by hand.

EMIBENCH_FULL_ENV_INSTALL=1 also installs the pip section into a fresh venv (several GB, minutes).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_FILE = REPO / "envs" / "emibench.yaml"
CONDA_KEYS = {"name", "channels", "dependencies", "variables", "prefix"}
# A conda match spec: name, then an optional version and build (`python=3.11`, `pip`).
MATCH_SPEC = re.compile(r"^[A-Za-z0-9_.-]+(\s*[=<>!~]{1,2}\s*[A-Za-z0-9_.*+!-]+)*(=[\w.*]+)?$")


def pip_lines():
    spec = yaml.safe_load(ENV_FILE.read_text())
    return next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))


def test_file_is_a_conda_environment():
    spec = yaml.safe_load(ENV_FILE.read_text())
    assert set(spec) <= CONDA_KEYS
    assert isinstance(spec["name"], str) and spec["channels"]
    strings = [d for d in spec["dependencies"] if isinstance(d, str)]
    sections = [d for d in spec["dependencies"] if isinstance(d, dict)]
    assert all(MATCH_SPEC.match(d) for d in strings), strings
    assert "pip" in strings and any(d.startswith("python") for d in strings)
    assert len(sections) == 1 and set(sections[0]) == {"pip"}
    assert all(isinstance(line, str) for line in sections[0]["pip"])


def requirements_as_conda_writes_them(tmp_path):
    """The env file copied as Snakemake does, and conda's requirements file beside the copy."""
    copy_dir = tmp_path / "work" / ".snakemake" / "conda"
    copy_dir.mkdir(parents=True)
    shutil.copy(ENV_FILE, copy_dir / "0123456789abcdef.yaml")
    requirements = copy_dir / "condaenv.requirements.txt"
    requirements.write_text("\n".join(pip_lines()) + "\n")
    return requirements


def test_pip_section_resolves_the_checkout_from_snakemakes_copy(tmp_path):
    requirements = requirements_as_conda_writes_them(tmp_path)
    env = {**os.environ, "EMIBENCH_SOURCE": str(REPO), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed"]
        + ["--no-build-isolation", "--quiet", "--report", "-", "-r", requirements.name],
        cwd=requirements.parent,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    installs = json.loads(result.stdout)["install"]
    assert [item["metadata"]["name"] for item in installs] == ["emibench"]
    source = installs[0]["download_info"]
    assert source["url"] == REPO.as_uri() and source["dir_info"].get("editable")


def test_the_workflow_names_its_checkout():
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert "os.environ.update(EMIBENCH_SOURCE=workflow.basedir)" in common
    assert {m for line in pip_lines() for m in re.findall(r"\$\{(\w+)\}", line)} == {
        "EMIBENCH_SOURCE"
    }


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("EMIBENCH_FULL_ENV_INSTALL") != "1", reason="set EMIBENCH_FULL_ENV_INSTALL=1"
)
def test_pip_section_installs_into_a_fresh_venv(tmp_path):
    requirements = requirements_as_conda_writes_them(tmp_path)
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    env = {**os.environ, "EMIBENCH_SOURCE": str(REPO)}
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", requirements.name],
        cwd=requirements.parent,
        env=env,
        check=True,
        timeout=3600,
    )
    subprocess.run([str(tmp_path / "venv" / "bin" / "emibench"), "--help"], env=env, check=True)
    found = subprocess.run(
        [str(python), "-c", "import emibench; print(emibench.__file__)"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert found.stdout.startswith(str(REPO / "src"))

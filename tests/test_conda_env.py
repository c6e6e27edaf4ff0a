"""envs/emibench.yaml: a valid conda environment whose pip section installs envs/requirements.lock,
found from Snakemake's copy in .snakemake/conda/ (conda hands the pip lines to `pip install -r` in
the folder of the file it reads), and whose post-deploy script installs the checkout. Without
conda here, the copy and pip's steps are done by hand.

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

from emibench.environment.lock import read_lock

REPO = Path(__file__).resolve().parents[1]
ENV_FILE = REPO / "envs" / "emibench.yaml"
POST_DEPLOY = REPO / "envs" / "emibench.post-deploy.sh"
IMPORTS = (
    "import emibench, torch, snakemake, numpy; from importlib.metadata import version; "
    "print(emibench.__file__, *(version(p) for p in ('torch', 'snakemake', 'numpy')))"
)
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


def test_pip_section_is_the_lock_found_from_snakemakes_copy(tmp_path):
    """The environment pins what the README's venv pins: envs/requirements.lock, whole."""
    requirements = requirements_as_conda_writes_them(tmp_path)
    lines = requirements.read_text().split()
    assert lines == ["-r", "${EMIBENCH_SOURCE}/envs/requirements.lock"]
    lock = Path(os.path.expandvars(lines[1].replace("${EMIBENCH_SOURCE}", str(REPO))))
    assert lock.resolve() == (REPO / "envs" / "requirements.lock").resolve()
    assert read_lock(lock)["torch"].version
    python = [d for d in yaml.safe_load(ENV_FILE.read_text())["dependencies"] if d == "python=3.11"]
    assert python, "the lock is made for Python 3.11 (envs/lock.sh)"


def test_post_deploy_script_installs_the_checkout(tmp_path):
    """Snakemake runs envs/emibench.post-deploy.sh in the new environment; here its `pip` is a
    dry run that reports what it would install."""
    assert POST_DEPLOY.is_file()
    report = tmp_path / "report.json"
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "pip").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m pip "$@" --dry-run --ignore-installed '
        f'--no-build-isolation --quiet --report "{report}"\n'
    )
    (shim / "pip").chmod(0o755)
    env = {
        **os.environ,
        "EMIBENCH_SOURCE": str(REPO),
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    result = subprocess.run(
        ["sh", str(POST_DEPLOY)],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    installs = json.loads(report.read_text())["install"]
    assert [item["metadata"]["name"] for item in installs] == ["emibench"]
    source = installs[0]["download_info"]
    assert source["url"] == REPO.as_uri() and source["dir_info"].get("editable")


def test_post_deploy_script_needs_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "EMIBENCH_SOURCE"}
    result = subprocess.run(
        ["sh", str(POST_DEPLOY)], cwd=tmp_path, env=env, check=False, capture_output=True, text=True
    )
    assert result.returncode != 0 and "EMIBENCH_SOURCE" in result.stderr


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
    """The environment as conda would build it, in a venv: the lock, then the post-deploy script;
    emibench, torch and snakemake import at the locked versions."""
    requirements = requirements_as_conda_writes_them(tmp_path)
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    python = bin_dir / "python"
    env = {**os.environ, "EMIBENCH_SOURCE": str(REPO), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", requirements.name],
        cwd=requirements.parent,
        env=env,
        check=True,
        timeout=3600,
    )
    subprocess.run(["sh", str(POST_DEPLOY)], env=env, check=True, timeout=600)
    subprocess.run([str(bin_dir / "emibench"), "--help"], env=env, check=True, capture_output=True)
    found = subprocess.run(
        [str(python), "-c", IMPORTS],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    where, *versions = found.stdout.split()
    assert where.startswith(str(REPO / "src"))
    lock = read_lock(REPO / "envs" / "requirements.lock")
    assert versions == [lock[name].version for name in ("torch", "snakemake", "numpy")]
    subprocess.run(
        [str(bin_dir / "emibench"), "lock-check", "--root", str(REPO)], env=env, check=True
    )
    subprocess.run([str(python), "-m", "pip", "check"], env=env, check=True)

"""envs/requirements.lock against pyproject.toml and envs/constraints.txt (`emibench lock-check`),
and the environment record that `emibench collect --lock` writes into metrics.json."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from emibench.cli import main
from emibench.environment.lock import LOCK, lock_problems, read_lock
from emibench.environment.record import KEY_PACKAGES, environment_record, lock_differences

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    """pyproject.toml, envs/constraints.txt and envs/requirements.lock copied, to be edited."""
    (tmp_path / "envs").mkdir()
    for name in ("pyproject.toml", "envs/constraints.txt", "envs/requirements.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_the_committed_lock_agrees(capsys):
    assert lock_problems(REPO) == []
    assert main(["lock-check", "--root", str(REPO)]) == 0


def test_the_lock_pins_and_hashes_every_package():
    lock = read_lock(REPO / LOCK)
    assert {"torch", "torchvision", "numpy", "snakemake", "dvc", "pytest"} <= set(lock)
    assert all(e.hashes and all(len(h) == 64 for h in e.hashes) for e in lock.values())
    assert "emibench (pyproject.toml)" in lock["numpy"].via  # a direct dependency
    assert lock["torch"].via >= {"-c envs/constraints.txt", "emibench (pyproject.toml)"}
    assert "emibench (pyproject.toml)" not in lock["jinja2"].via  # only needed by others


def test_a_new_dependency_fails_naming_it(checkout):
    edit(checkout / "pyproject.toml", '    "pyyaml>=6",\n', '    "pyyaml>=6",\n    "polars>=1",\n')
    problems = lock_problems(checkout)
    assert len(problems) == 1 and "polars>=1 is not in envs/requirements.lock" in problems[0]
    assert main(["lock-check", "--root", str(checkout)]) == 1


def test_a_dependency_the_lock_has_only_indirectly_fails(checkout):
    edit(checkout / "pyproject.toml", '    "pyyaml>=6",\n', '    "pyyaml>=6",\n    "jinja2",\n')
    (problem,) = lock_problems(checkout)
    assert "jinja2 is locked only as a dependency of" in problem


def test_a_range_the_pin_leaves_fails_naming_both(checkout):
    edit(checkout / "pyproject.toml", '"numpy>=1.26"', '"numpy>=99"')
    (problem,) = lock_problems(checkout)
    version = read_lock(checkout / LOCK)["numpy"].version
    assert "project.dependencies: numpy>=99" in problem and f"numpy=={version}" in problem


def test_a_dropped_dependency_fails_naming_it(checkout):
    edit(checkout / "pyproject.toml", '    "seaborn>=0.13",\n', "")
    (problem,) = lock_problems(checkout)
    assert (
        "seaborn is locked as a dependency of pyproject.toml, which no longer names it" in problem
    )


def test_an_extra_counts_like_the_main_dependencies(checkout):
    edit(checkout / "pyproject.toml", '"pytest>=8"', '"pytest>=8", "hypothesis>=6"')
    (problem,) = lock_problems(checkout)
    assert "project.optional-dependencies.test: hypothesis>=6" in problem


def test_a_dependency_for_another_platform_is_not_asked_of_the_lock(checkout):
    edit(
        checkout / "pyproject.toml",
        '    "pyyaml>=6",\n',
        '    "pyyaml>=6",\n    "pywin32>=300; sys_platform == \'win32\'",\n',
    )
    assert lock_problems(checkout) == []


def test_a_changed_constraint_fails_naming_it(checkout):
    edit(checkout / "envs/constraints.txt", "torch==2.14.1", "torch==2.14.0")
    (problem,) = lock_problems(checkout)
    assert problem.startswith("envs/constraints.txt: torch==2.14.0 but envs/requirements.lock")


def test_a_lock_line_without_a_pin_or_hash_is_an_error_naming_the_line(checkout):
    lock = checkout / LOCK
    text = lock.read_text()
    first = re.search(r"^(\S+)==(\S+) \\$", text, flags=re.MULTILINE)
    lock.write_text(text.replace(first.group(0), f"{first.group(1)}>={first.group(2)} \\", 1))
    line = text[: first.start()].count("\n") + 1
    with pytest.raises(ValueError, match=rf"requirements.lock line {line}: .* not pinned with =="):
        read_lock(lock)
    lock.write_text(text + "extra-package==1.0\n")
    with pytest.raises(ValueError, match=r"extra-package has no --hash"):
        read_lock(lock)


def test_record_lists_what_differs_from_the_lock():
    lock = read_lock(REPO / LOCK)
    installed = {name: entry.version for name, entry in lock.items()}
    assert lock_differences(REPO / LOCK, installed) == []
    installed["numpy"] = "1.0"
    del installed["torch"]
    assert lock_differences(REPO / LOCK, installed) == [
        f"numpy {lock['numpy'].version} -> 1.0",
        f"torch {lock['torch'].version} -> not installed",
    ]
    assert len(lock_differences(REPO / LOCK, {})) == 11  # ten named, then how many more


def test_record_has_the_lock_hash_versions_and_devices_and_nothing_that_varies():
    first = environment_record(REPO / LOCK, ["cpu", "cpu"])
    assert first == environment_record(REPO / LOCK, ["cpu"])
    assert first["lock"]["file"] == "requirements.lock"
    assert re.fullmatch(r"[0-9a-f]{64}", first["lock"]["sha256"])
    assert set(first["packages"]) == set(KEY_PACKAGES)
    assert first["devices"] == ["cpu"]

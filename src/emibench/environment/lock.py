"""Reading envs/requirements.lock and checking it against pyproject.toml and envs/constraints.txt.

The lock is ``uv pip compile`` output (``bash envs/lock.sh``): one ``name==version`` entry per
package with its ``--hash=sha256:...`` options, then ``# via`` comments naming what needs it
(``emibench (pyproject.toml)`` for a direct dependency, ``-c envs/constraints.txt`` for a pin).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

LOCK = Path("envs/requirements.lock")
CONSTRAINTS = Path("envs/constraints.txt")
PYPROJECT = Path("pyproject.toml")
REFRESH = "bash envs/lock.sh"
# What `# via` says of a dependency that pyproject.toml names itself.
PROJECT_VIA = "emibench (pyproject.toml)"
# The platform the lock is made for (envs/lock.sh: Linux x86-64, Python 3.11), for markers.
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass
class LockEntry:
    """One locked package: its version, the sha256 of each file it may come as, what needs it."""

    name: str
    version: str
    hashes: list[str]
    via: set[str] = field(default_factory=set)
    line: int = 0


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_lock(path: str | Path) -> dict[str, LockEntry]:
    """The lock's entries by canonical package name; a line that is not a pinned, hashed
    requirement is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lock file not found: {path} (make it with `{REFRESH}`)")
    entries: dict[str, LockEntry] = {}
    current: LockEntry | None = None
    in_via = False
    lines = path.read_text().splitlines()
    k = 0
    while k < len(lines):
        start = k
        text = lines[k]
        while text.endswith("\\") and k + 1 < len(lines):
            k += 1
            text = text[:-1] + " " + lines[k]
        k += 1
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if current is None or not text.startswith(" "):
                continue
            if comment == "via":
                in_via = True
            elif comment.startswith("via "):
                current.via.add(comment[4:].strip())
                in_via = False
            elif in_via:
                current.via.add(comment)
            continue
        in_via = False
        where = f"{path} line {start + 1}"
        requirement = _HASH.sub("", text).strip()
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as err:
            raise ValueError(f"{where}: not a requirement ({err}): {stripped[:80]!r}") from None
        pins = [s.version for s in parsed.specifier if s.operator == "=="]
        if len(parsed.specifier) != 1 or not pins:
            raise ValueError(f"{where}: {parsed.name} is not pinned with == ({requirement!r})")
        hashes = _HASH.findall(text)
        if not hashes:
            raise ValueError(f"{where}: {parsed.name} has no --hash=sha256 (run `{REFRESH}`)")
        name = canonicalize_name(parsed.name)
        if name in entries:
            raise ValueError(f"{where}: {parsed.name} is locked twice")
        current = LockEntry(parsed.name, pins[0], hashes, line=start + 1)
        entries[name] = current
    if not entries:
        raise ValueError(f"{path}: no locked packages")
    return entries


def project_requirements(pyproject: str | Path) -> list[tuple[str, Requirement]]:
    """Every dependency of pyproject.toml, its extras' included, that applies on the lock's
    platform: (where it is declared, the requirement)."""
    pyproject = Path(pyproject)
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    declared = [("project.dependencies", r) for r in project.get("dependencies", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        declared += [(f"project.optional-dependencies.{extra}", r) for r in requirements]
    out = []
    for where, text in declared:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as err:
            raise ValueError(f"{pyproject}: {where}: {text!r} ({err})") from None
        if requirement.marker is None or requirement.marker.evaluate(TARGET | {"extra": ""}):
            out.append((where, requirement))
    return out


def constraint_requirements(constraints: str | Path) -> list[Requirement]:
    """The requirements of a pip constraints file (comments and blank lines skipped)."""
    constraints = Path(constraints)
    out = []
    for number, line in enumerate(constraints.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                out.append(Requirement(text))
            except InvalidRequirement as err:
                raise ValueError(f"{constraints} line {number}: {text!r} ({err})") from None
    return out


def lock_problems(root: str | Path = ".") -> list[str]:
    """Where pyproject.toml's dependencies (every extra), envs/constraints.txt and the lock
    disagree, one message each; empty when the lock is what `bash envs/lock.sh` would keep."""
    root = Path(root)
    lock_path = root / LOCK
    lock = read_lock(lock_path)
    problems = []
    direct = set()
    for where, requirement in project_requirements(root / PYPROJECT):
        name = canonicalize_name(requirement.name)
        direct.add(name)
        entry = lock.get(name)
        if entry is None:
            problems.append(f"pyproject.toml {where}: {requirement} is not in {LOCK}")
        elif not requirement.specifier.contains(entry.version, prereleases=True):
            problems.append(
                f"pyproject.toml {where}: {requirement} but {LOCK} line {entry.line} "
                f"pins {entry.name}=={entry.version}"
            )
        elif PROJECT_VIA not in entry.via:
            problems.append(
                f"pyproject.toml {where}: {requirement} is locked only as a dependency of "
                f"{', '.join(sorted(entry.via)) or 'nothing'}, not of pyproject.toml"
            )
    for name, entry in sorted(lock.items()):
        if PROJECT_VIA in entry.via and name not in direct:
            problems.append(
                f"{LOCK} line {entry.line}: {entry.name} is locked as a dependency of "
                "pyproject.toml, which no longer names it"
            )
    for requirement in constraint_requirements(root / CONSTRAINTS):
        entry = lock.get(canonicalize_name(requirement.name))
        if entry is None:
            problems.append(f"{CONSTRAINTS}: {requirement} is not in {LOCK}")
        elif not requirement.specifier.contains(entry.version, prereleases=True):
            problems.append(
                f"{CONSTRAINTS}: {requirement} but {LOCK} line {entry.line} "
                f"pins {entry.name}=={entry.version}"
            )
    return problems

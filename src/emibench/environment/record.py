"""What a benchmark's results record of the environment that produced them.

``environment_record`` is the ``environment`` entry of ``results/<dataset>/metrics.json`` and of
the report: the lock's sha256, whether the installed packages are the locked ones, the versions
that move scores, Python's, and the devices the runs trained on. Nothing in it changes between two
runs in the same environment (no times, no paths, no host names).
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from emibench.environment.lock import file_sha256, read_lock

# At most this many differences from the lock are listed (then a count of the rest).
MAX_LISTED = 10
# The distributions whose versions can move a score or break the workflow.
KEY_PACKAGES = (
    "emibench",
    "torch",
    "torchvision",
    "transformers",
    "open_clip_torch",
    "numpy",
    "snakemake",
)


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by canonical name (the first found on sys.path)."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(canonicalize_name(name), dist.version)
    return versions


def lock_differences(lock_path: str | Path, installed: dict[str, str]) -> list[str]:
    """The locked packages installed at another version or not at all, ``name locked -> found``,
    the first MAX_LISTED and a count of the rest (packages the lock does not name are not
    compared)."""
    out = []
    for name, entry in sorted(read_lock(lock_path).items()):
        found = installed.get(name, "not installed")
        if found != entry.version:
            out.append(f"{entry.name} {entry.version} -> {found}")
    if len(out) > MAX_LISTED:
        out = [*out[:MAX_LISTED], f"and {len(out) - MAX_LISTED} more"]
    return out


def environment_record(lock_path: str | Path, devices: list[str]) -> dict:
    """``{"lock": {"file", "sha256", "differences"}, "python", "packages": {name: version},
    "devices": [...]}``; ``devices`` as the runs recorded them, sorted and without repeats."""
    lock_path = Path(lock_path)
    installed = installed_versions()
    return {
        "lock": {
            "file": lock_path.name,
            "sha256": file_sha256(lock_path),
            "differences": lock_differences(lock_path, installed),
        },
        "python": platform.python_version(),
        "packages": {p: installed.get(canonicalize_name(p), "not installed") for p in KEY_PACKAGES},
        "devices": sorted(set(devices)),
    }

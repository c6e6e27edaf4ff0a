"""Writing model folders into a Hugging Face hub cache, as ``huggingface_hub`` itself lays it out.

An entry is ``<home>/hub/models--ORG--NAME/snapshots/<revision>/<files>`` plus
``<home>/hub/models--ORG--NAME/refs/main`` holding the revision, so that with ``HF_HOME=<home>``
and ``HF_HUB_OFFLINE=1`` transformers, open_clip and ``huggingface_hub.try_to_load_from_cache``
find the files by hub name. Files are stored in the snapshot folder itself (no ``blobs/`` and
symlinks), which the hub library reads the same way.

A snapshot is written into ``<home>/.partial/`` and moved into place in one rename, and
``refs/main`` is written last, so an interrupted build leaves no entry that looks complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

HUB_DIR = "hub"
PARTIAL_DIR = ".partial"


def entry_dir(home: str | Path, repo_id: str) -> Path:
    """``<home>/hub/models--ORG--NAME``."""
    return Path(home) / HUB_DIR / ("models--" + repo_id.replace("/", "--"))


def snapshot_dir(home: str | Path, repo_id: str, revision: str) -> Path:
    return entry_dir(home, repo_id) / "snapshots" / revision


def current_revision(home: str | Path, repo_id: str) -> str | None:
    """The revision ``refs/main`` points at, when it has a snapshot folder; else None."""
    ref = entry_dir(home, repo_id) / "refs" / "main"
    if not ref.is_file():
        return None
    revision = ref.read_text().strip()
    return revision if snapshot_dir(home, repo_id, revision).is_dir() else None


def write_snapshot(
    home: str | Path, repo_id: str, revision: str, write: Callable[[Path], T]
) -> tuple[Path, T]:
    """Call ``write(folder)`` on an empty folder and install it as ``repo_id``'s ``main`` snapshot.

    An existing snapshot of the same revision is replaced. Returns the snapshot folder and what
    ``write`` returned.
    """
    home = Path(home)
    partial = home / PARTIAL_DIR / f"{repo_id.replace('/', '--')}--{revision}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        result = write(partial)
        final = snapshot_dir(home, repo_id, revision)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        if not any(partial.parent.iterdir()):
            partial.parent.rmdir()
    refs = entry_dir(home, repo_id) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(revision)
    return final, result


def folder_bytes(folder: str | Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())

"""The dataset root's layout: split CSVs, ``raw/{id:05d}.mp4``, optional ``audio/{id:05d}.*``.

:func:`read_splits` reads and validates the three split CSVs (ids unique across splits);
:func:`check_layout` also looks for each listed clip's media. Missing or empty media files are
warnings (the manifest carries such clips as broken); unreadable label files and a root without
split CSVs or ``raw/`` are errors.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from emibench.data.labels import LabelError, read_split_csv
from emibench.emotions import SPLITS

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".m4a", ".aac", ".ogg")
VIDEO_SUFFIX = ".mp4"


class LayoutError(ValueError):
    """The dataset root lacks what every later step needs (names the path)."""


def split_csv(root: str | Path, split: str) -> Path:
    return Path(root) / f"{split}_split.csv"


def video_path(root: str | Path, clip_id: str) -> Path:
    return Path(root) / "raw" / f"{clip_id}{VIDEO_SUFFIX}"


def audio_file(root: str | Path, clip_id: str) -> Path | None:
    """The clip's separate audio file in ``audio/``, if there is one."""
    folder = Path(root) / "audio"
    for suffix in AUDIO_SUFFIXES:
        path = folder / f"{clip_id}{suffix}"
        if path.exists():
            return path
    return None


def read_splits(root: str | Path) -> dict[str, pd.DataFrame]:
    """Every split's ids and labels (test labels never: they stay hidden, NaN).

    Raises:
        LayoutError: the root or a split CSV is missing.
        LabelError: a CSV is malformed, or an id appears in two splits.
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"dataset root {root} is not a directory")
    frames: dict[str, pd.DataFrame] = {}
    owner: dict[str, str] = {}
    for split in SPLITS:
        path = split_csv(root, split)
        if not path.exists():
            raise LayoutError(f"{path} is missing: a Hume-Vidmimic2 root holds {split}_split.csv")
        frame = read_split_csv(path, labels_required=split != "test")
        if split == "test":
            frame.loc[:, frame.columns != "id"] = float("nan")
        for clip_id in frame["id"]:
            if clip_id in owner:
                raise LabelError(
                    f"{path}: id {clip_id} is also listed in {split_csv(root, owner[clip_id])}"
                )
            owner[clip_id] = split
        frames[split] = frame
    return frames


def check_layout(root: str | Path) -> dict[str, Any]:
    """Check a dataset root; returns a JSON-able report (``ok`` True unless an error was raised).

    Raises:
        LayoutError, LabelError: see :func:`read_splits`; also a root without ``raw/``.
    """
    root = Path(root)
    frames = read_splits(root)
    raw = root / "raw"
    if not raw.is_dir():
        raise LayoutError(f"{raw} is missing: the clips live in raw/{{id:05d}}.mp4")
    present = {p.stem: p for p in raw.iterdir() if p.suffix == VIDEO_SUFFIX}
    audio_dir = root / "audio"
    audio_stems = (
        {p.stem for p in audio_dir.iterdir() if p.suffix in AUDIO_SUFFIXES}
        if audio_dir.is_dir()
        else set()
    )
    warnings: list[str] = []
    report: dict[str, Any] = {"root": str(root), "ok": True, "splits": {}}
    listed: set[str] = set()
    for split, frame in frames.items():
        ids = list(frame["id"])
        listed.update(ids)
        missing = [i for i in ids if i not in present]
        empty = [i for i in ids if i in present and present[i].stat().st_size == 0]
        for clip_id in missing:
            warnings.append(f"{split}: {video_path(root, clip_id)} is missing")
        for clip_id in empty:
            warnings.append(f"{split}: {video_path(root, clip_id)} is empty (0 bytes)")
        report["splits"][split] = {
            "clips": len(ids),
            "labelled": bool(frame.drop(columns="id").notna().all(axis=None)) if ids else False,
            "missing_media": missing,
            "empty_media": empty,
            "audio_files": sum(i in audio_stems for i in ids),
        }
    orphans = sorted(set(present) - listed)
    for stem in orphans:
        warnings.append(f"{present[stem]} is listed in no split CSV; ignored")
    report["orphan_media"] = orphans
    report["warnings"] = warnings
    for line in warnings[:50]:
        log.warning(line)
    if len(warnings) > 50:
        log.warning("... and %d more layout warnings (see the report)", len(warnings) - 50)
    log.info(
        "layout of %s: %s; %d warning(s)",
        root,
        ", ".join(f"{s} {v['clips']} clips" for s, v in report["splits"].items()),
        len(warnings),
    )
    return report


def write_layout_report(report: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")

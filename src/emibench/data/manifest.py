"""The manifest: one row per clip of every split, probed with PyAV, labels joined, shards assigned.

Columns are those of docs/architecture.md (:data:`COLUMNS`). Nothing is dropped: a clip whose mp4
is missing, empty, truncated or unreadable is ``status=broken`` with the reason (and a warning);
its separate audio file, when readable, still counts (``audio_source=file``). Media files that no
split CSV lists are reported and ignored. Test labels are never joined (columns left empty).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from emibench.data.layout import audio_file, read_splits, video_path
from emibench.data.probe import probe_audio, probe_video
from emibench.emotions import EMOTIONS, SPLITS

log = logging.getLogger(__name__)

COLUMNS = [
    "id",
    "split",
    "shard",
    "video_path",
    "audio_path",
    "status",
    "reason",
    "duration_s",
    "fps",
    "width",
    "height",
    "n_video_frames",
    "has_audio",
    "audio_rate",
    "audio_channels",
    "audio_source",
    *EMOTIONS,
]


def assign_shards(ids: list[str], n_shards: int) -> dict[str, int]:
    """Round-robin over the sorted ids: the i-th smallest id goes to shard ``i % n_shards``."""
    if n_shards < 1:
        raise ValueError(f"number of shards must be >= 1, got {n_shards}")
    return {clip_id: i % n_shards for i, clip_id in enumerate(sorted(ids))}


def probe_clip(task: tuple[str, str, str | None]) -> dict[str, Any]:
    """Probe one clip's mp4 and audio file: the media columns of its manifest row."""
    clip_id, video, audio = task
    vp = probe_video(video)
    ap = probe_audio(audio) if audio else None
    row: dict[str, Any] = {
        "id": clip_id,
        "video_path": video,
        "audio_path": audio or "",
        "status": "ok" if vp.ok else "broken",
        "reason": vp.reason,
        "duration_s": vp.duration_s if vp.duration_s > 0 else np.nan,
        "fps": vp.fps if vp.fps > 0 else np.nan,
        "width": vp.width,
        "height": vp.height,
        "n_video_frames": vp.n_video_frames,
        "audio_note": "",
    }
    if ap is not None and ap.ok:
        row.update(audio_source="file", audio_rate=ap.rate, audio_channels=ap.channels)
    elif vp.ok and vp.has_audio:
        row.update(audio_source="mp4", audio_rate=vp.audio_rate, audio_channels=vp.audio_channels)
    else:
        row.update(audio_source="none", audio_rate=0, audio_channels=0)
    if ap is not None and not ap.ok:
        row["audio_note"] = f"{audio}: {ap.reason}"
        row["audio_path"] = ""
    row["has_audio"] = row["audio_source"] != "none"
    return row


def _probe_all(tasks: list[tuple[str, str, str | None]], threads: int) -> list[dict[str, Any]]:
    if threads <= 1 or len(tasks) < 8:
        return [probe_clip(t) for t in tqdm(tasks, desc="probe", unit="clip", mininterval=5)]
    methods = mp.get_all_start_methods()
    context = mp.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=threads, mp_context=context) as pool:
        chunk = max(1, min(64, len(tasks) // (threads * 8)))
        results = pool.map(probe_clip, tasks, chunksize=chunk)
        return list(tqdm(results, total=len(tasks), desc="probe", unit="clip", mininterval=5))


def build_manifest(root: str | Path, shards: dict[str, int], threads: int = 1) -> pd.DataFrame:
    """Probe every clip listed in the root's split CSVs; returns the manifest (COLUMNS)."""
    start = time.perf_counter()
    root = Path(root)
    frames = read_splits(root)
    tasks, meta = [], {}
    for split in SPLITS:
        frame = frames[split]
        shard_of = assign_shards(list(frame["id"]), int(shards[split]))
        for record in frame.to_dict("records"):
            clip_id = record["id"]
            audio = audio_file(root, clip_id)
            tasks.append((clip_id, str(video_path(root, clip_id)), str(audio) if audio else None))
            meta[clip_id] = {
                "split": split,
                "shard": shard_of[clip_id],
                **{e: record[e] for e in EMOTIONS},
            }
    listed = set(meta)
    raw = root / "raw"
    if raw.is_dir():
        for path in sorted(raw.iterdir()):
            if path.suffix == ".mp4" and path.stem not in listed:
                log.warning("%s is listed in no split CSV; ignored", path)
    rows = _probe_all(tasks, threads)
    for row in rows:
        row.update(meta[row["id"]])
        if row["status"] == "broken":
            log.warning("broken clip %s (%s): %s", row["id"], row["video_path"], row["reason"])
        note = row.pop("audio_note")
        if note:
            log.warning("clip %s: audio file not used: %s", row["id"], note)
    manifest = pd.DataFrame(
        rows, columns=[c for c in COLUMNS if c not in EMOTIONS] + list(EMOTIONS)
    )
    order = {split: i for i, split in enumerate(SPLITS)}
    manifest = manifest.sort_values(
        ["split", "id"], key=lambda s: s.map(order) if s.name == "split" else s
    )
    manifest = manifest[COLUMNS].reset_index(drop=True)
    for column in ("shard", "width", "height", "n_video_frames", "audio_rate", "audio_channels"):
        manifest[column] = manifest[column].astype(int)
    manifest["has_audio"] = manifest["has_audio"].astype(bool)
    n_broken = int((manifest["status"] == "broken").sum())
    log.info(
        "manifest: %d clips (%s), %d broken, %d without audio, in %.1f s",
        len(manifest),
        ", ".join(f"{s} {int((manifest['split'] == s).sum())}" for s in SPLITS),
        n_broken,
        int((~manifest["has_audio"]).sum()),
        time.perf_counter() - start,
    )
    return manifest

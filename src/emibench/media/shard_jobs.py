"""What every per-shard job shares: its manifest rows, its settings, its progress and summary.

A per-clip job (frames, audio, transcription) reads the manifest, keeps the rows of one split and
shard, works through them with a tqdm bar, never lets one clip crash the shard, and ends with one
summary line: clips done, missing or failed, notable cases counted by kind, seconds.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from emibench.data.tables import read_table

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("id", "split", "shard", "video_path", "audio_path", "status", "reason")


def shard_rows(manifest: str | Path, split: str, shard: int) -> pd.DataFrame:
    """The manifest rows of one split and shard, sorted by id (may be empty, with a warning)."""
    table = read_table(manifest)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"manifest {manifest}: missing column(s) {missing}")
    rows = table[(table["split"] == split) & (table["shard"].astype(int) == int(shard))]
    rows = rows.sort_values("id").reset_index(drop=True)
    for column in ("video_path", "audio_path", "reason", "status"):
        rows[column] = rows[column].astype(object).fillna("").astype(str)
    if rows.empty:
        log.warning(
            "manifest %s has no clips for split %s shard %s; writing an empty shard",
            manifest,
            split,
            shard,
        )
    return rows


def is_broken(row: Mapping[str, Any]) -> bool:
    return str(row.get("status", "ok")) == "broken"


class ShardReport:
    """Counts of one shard job and its summary line.

    ``done`` counts clips with data, ``missing`` clips written as missing (or failed); ``notes``
    counts notable cases by name (``portrait``, ``fps=29.97``, ``cut_short``, ...).
    """

    def __init__(self, what: str, split: str, shard: int | str):
        self.what = f"{what} {split}/{shard}"
        self.start = time.perf_counter()
        self.done = 0
        self.missing = 0
        self.notes: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()

    def track(self, rows: pd.DataFrame) -> Iterator[dict[str, Any]]:
        """Iterate the rows as dicts with a tqdm bar (to stderr, so it lands in the rule's log)."""
        records = rows.to_dict("records")
        yield from tqdm(records, desc=self.what, unit="clip", mininterval=1.0)

    def ok(self, *notes: str) -> None:
        self.done += 1
        self.notes.update(n for n in notes if n)

    def miss(self, clip_id: str, reason: str, *notes: str) -> None:
        self.missing += 1
        self.notes.update(n for n in notes if n)
        log.warning("%s: clip %s missing: %s", self.what, clip_id, reason)

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def summary(self) -> str:
        notes = " ".join(f"{k}={v}" for k, v in sorted(self.notes.items()))
        totals = " ".join(f"{k}={v:g}" for k, v in self.totals.items())
        return (
            f"{self.what}: {self.done} clips done, {self.missing} missing/failed"
            + (f"; {totals}" if totals else "")
            + (f"; cases: {notes}" if notes else "")
            + f"; {self.seconds():.1f} s"
        )

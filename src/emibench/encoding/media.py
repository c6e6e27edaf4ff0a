"""Reading a clip's inputs for feature extraction and Stage I: frames, audio, the visual time base, text.

Every reader answers for every clip id: a present modality as an array, or None with the reason
(a ``missing`` store entry keeps its producer's reason; an id absent from a store, an empty
sequence or an empty transcript get one here).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from emibench.data.store import SequenceReader, store_files
from emibench.data.tables import read_table
from emibench.encoding.pooling import uniform_steps

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Item:
    """One clip's input of one modality: ``value`` is None when missing, with ``reason``.

    ``steps`` is the clip's visual time base (T,) seconds where a consumer needs it (audio).
    """

    id: str
    value: object | None
    reason: str = ""
    steps: np.ndarray | None = None


class MediaReader:
    """Frames and audio of clips over one or more shard stores, and the visual time base.

    ``durations`` (clip id -> seconds, from the manifest) gives the time base of clips without
    frames: a uniform grid at the frames store's rate over the clip's duration.
    """

    def __init__(
        self,
        frames: Sequence[str | Path] = (),
        audio: Sequence[str | Path] = (),
        durations: Mapping[str, float] | None = None,
    ):
        self.frames = SequenceReader(frames) if frames else None
        self.audio = SequenceReader(audio) if audio else None
        self.durations = dict(durations or {})
        self.frame_rate = (
            float(self.frames.store_attrs().get("rate_hz", 5.0)) if self.frames is not None else 5.0
        )
        self._audio_attrs = self.audio.store_attrs() if self.audio is not None else {}

    def _get(self, reader: SequenceReader | None, kind: str, clip_id: str) -> Item:
        if reader is None:
            return Item(clip_id, None, f"no {kind} store given")
        if clip_id not in reader:
            return Item(
                clip_id, None, f"no entry in the {kind} store ({', '.join(map(str, reader.paths))})"
            )
        attrs = reader.attrs(clip_id)
        if attrs.get("missing", False):
            return Item(clip_id, None, str(attrs.get("reason", "")) or f"{kind} missing")
        data = reader[clip_id]
        if len(data) == 0:
            return Item(clip_id, None, f"empty {kind} sequence")
        return Item(clip_id, data)

    def frames_of(self, clip_id: str) -> Item:
        """uint8 (T, S, S, 3) RGB frames, or None with the reason."""
        return self._get(self.frames, "frames", clip_id)

    def wave_of(self, clip_id: str, sample_rate: int | None = None) -> Item:
        """float32 (N,) mono samples (resampled to ``sample_rate`` if given), or None with the reason."""
        item = self._get(self.audio, "audio", clip_id)
        if item.value is not None:
            wave = np.asarray(item.value, dtype=np.float32).reshape(-1)
            rate = self.audio_rate(clip_id)
            if sample_rate and rate != sample_rate:
                import librosa

                wave = librosa.resample(wave, orig_sr=rate, target_sr=sample_rate).astype(
                    np.float32
                )
            item.value = wave
        return item

    def has(self, modality: str, clip_id: str) -> tuple[bool, str]:
        """Whether a clip's ``visual`` or ``audio`` entry is present, without reading it; else the reason."""
        reader, kind = (self.frames, "frames") if modality == "visual" else (self.audio, "audio")
        if reader is None:
            return False, f"no {kind} store given"
        if clip_id not in reader:
            return False, f"no entry in the {kind} store"
        attrs = reader.attrs(clip_id)
        if attrs.get("missing", False):
            return False, str(attrs.get("reason", "")) or f"{kind} missing"
        return True, ""

    def audio_rate(self, clip_id: str) -> int:
        """The sample rate of a clip's audio entry (its ``sample_rate``, else the store's ``rate_hz``)."""
        attrs = (
            self.audio.attrs(clip_id) if self.audio is not None and clip_id in self.audio else {}
        )
        return int(attrs.get("sample_rate", self._audio_attrs.get("rate_hz", 16000)))

    def step_times(self, clip_id: str, fallback_duration: float | None = None) -> np.ndarray | None:
        """The visual time base of a clip (T,) seconds: its frame timestamps, else a uniform grid.

        The grid covers the manifest duration (or ``fallback_duration``, e.g. the audio's length);
        None when the clip has neither frames nor any duration.
        """
        if (
            self.frames is not None
            and clip_id in self.frames
            and not self.frames.is_missing(clip_id)
        ):
            times = self.frames.extra(clip_id, "timestamps")
            if len(times):
                return np.asarray(times, dtype=np.float64)
        duration = self.durations.get(clip_id)
        if duration is None or not np.isfinite(duration) or duration <= 0:
            duration = fallback_duration
        if duration is None or duration <= 0:
            return None
        return uniform_steps(duration, self.frame_rate).astype(np.float64)

    def close(self) -> None:
        for reader in (self.frames, self.audio):
            if reader is not None:
                reader.close()


def read_transcripts(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Transcript tables (every shard or split file given, or a folder of them with its index)
    -> one table indexed by id."""
    paths = store_files(paths)
    tables = [read_table(p) for p in paths]
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["id", "text", "status"])
    )
    for column in ("id", "text"):
        if column not in table.columns:
            raise KeyError(
                f"transcript table(s) {list(map(str, paths))} lack the column {column!r}"
            )
    duplicated = table["id"][table["id"].duplicated()]
    if len(duplicated):
        raise KeyError(f"transcripts: clip ids listed twice: {sorted(duplicated)[:5]}")
    table["text"] = table["text"].fillna("").astype(str)
    return table.set_index("id")


def text_of(transcripts: pd.DataFrame, clip_id: str) -> Item:
    """A clip's transcript text, or None with the reason (no row, empty text)."""
    if clip_id not in transcripts.index:
        return Item(clip_id, None, "no transcript row")
    row = transcripts.loc[clip_id]
    text = str(row["text"]).strip()
    if text:
        return Item(clip_id, text)
    details = [
        f"{key} {row[key]}"
        for key in ("status", "reason")
        if isinstance(row.get(key), str) and row[key]
    ]
    return Item(clip_id, None, "empty transcript" + (f" ({', '.join(details)})" if details else ""))


def shard_ids(manifest: pd.DataFrame, split: str, shard: int) -> list[str]:
    """Clip ids of one shard of a split, from the manifest, sorted."""
    rows = manifest[(manifest["split"] == split) & (manifest["shard"].astype(int) == int(shard))]
    if rows.empty:
        raise KeyError(f"manifest has no clips of split {split!r} shard {shard}")
    return sorted(rows["id"])


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` produced by a background thread, ``depth`` ahead (reading overlaps compute).

    An exception in the producer is raised in the consumer.
    """
    if depth <= 0:
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, item))
            q.put((True, done))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            q.put((False, exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def group_by_rows(items: Iterable[Item], min_rows: int) -> Iterator[list[Item]]:
    """Consecutive items grouped until their total length reaches ``min_rows`` (missing count 0)."""
    group: list[Item] = []
    rows = 0
    for item in items:
        group.append(item)
        rows += 0 if item.value is None else len(item.value)
        if rows >= min_rows:
            yield group
            group, rows = [], 0
    if group:
        yield group

"""The transcription job of one shard, the merge of a split's shards, the backend settings and the
named transcript sets.

Every manifest clip of the shard gets one row (columns of :data:`emibench.asr.base.COLUMNS`):

- ``no_audio``: the clip is missing in the audio store (no audio track, unreadable media) or absent
  from it; ``reason`` carries the store's reason;
- ``empty_audio``: the store holds no samples, or only digital silence (peak below
  :data:`SILENCE_PEAK`); the text is empty;
- ``failed``: the backend raised on this clip (batches that fail are retried clip by clip);
- ``ok``: the backend's transcript (possibly empty text when nothing was recognised).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emibench.asr.base import COLUMNS, SAMPLE_RATE, Transcriber, Transcript
from emibench.asr.settings import AsrSettings
from emibench.data.store import SequenceReader
from emibench.data.tables import read_table, write_table
from emibench.media.shard_jobs import ShardReport, shard_rows

log = logging.getLogger(__name__)

SILENCE_PEAK = 1e-4  # |sample| below this everywhere counts as digital silence


def make_transcriber(
    settings: AsrSettings, device: str = "auto", phrases: str | Path | None = None
) -> Transcriber:
    """The configured backend; ``phrases`` is the phrase bank for pocketsphinx ``phrase_bank``
    (vocabulary ``auto``: the phrase bank when one is given, else the full vocabulary)."""
    if settings.backend == "whisper":
        from emibench.asr.whisper import WhisperTranscriber

        return WhisperTranscriber(
            settings.model,
            device=device,
            precision=settings.precision,
            batch_size=settings.batch_size,
            chunk_length_s=settings.chunk_length_s,
            language=settings.language,
            num_beams=settings.num_beams,
            max_new_tokens=settings.max_new_tokens,
            first_segment_only=settings.first_segment_only,
        )
    from emibench.asr.pocketsphinx_backend import PocketSphinxTranscriber

    vocabulary = settings.vocabulary
    if vocabulary == "auto":
        vocabulary = "phrase_bank" if phrases else "full"
    return PocketSphinxTranscriber(vocabulary, phrases)


def _batches(
    items: list[tuple[str, np.ndarray]], size: int
) -> Iterator[list[tuple[str, np.ndarray]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_backend(
    transcriber: Transcriber, clips: list[tuple[str, np.ndarray]], batch_size: int
) -> list[Transcript]:
    """Transcribe ``clips`` in batches; a failing batch is retried clip by clip, failures kept."""
    results: list[Transcript] = []
    with tqdm(
        total=len(clips), desc=f"transcribe ({transcriber.name})", unit="clip", mininterval=1.0
    ) as bar:
        for batch in _batches(clips, batch_size):
            try:
                results.extend(transcriber.transcribe(batch))
            except Exception as err:  # noqa: BLE001 - one bad clip must not stop the shard
                log.warning("batch of %d failed (%s); retrying clip by clip", len(batch), err)
                for clip_id, samples in batch:
                    try:
                        results.extend(transcriber.transcribe([(clip_id, samples)]))
                    except Exception as clip_err:  # noqa: BLE001
                        reason = f"{type(clip_err).__name__}: {clip_err}"
                        log.warning("clip %s failed: %s", clip_id, reason)
                        results.append(
                            Transcript(
                                clip_id, backend=transcriber.name, status="failed", reason=reason
                            )
                        )
            bar.update(len(batch))
    return results


def load_clip(store: SequenceReader, clip_id: str) -> tuple[np.ndarray | None, Transcript | None]:
    """``(samples at 16 kHz, None)`` for a clip to transcribe, or ``(None, row)`` for one without audio."""
    if clip_id not in store:
        return None, Transcript(clip_id, status="no_audio", reason="not in the audio store")
    attrs = store.attrs(clip_id)
    if attrs.get("missing", False):
        return None, Transcript(clip_id, status="no_audio", reason=str(attrs.get("reason", "")))
    samples = np.asarray(store[clip_id], np.float32)
    rate = int(attrs.get("sample_rate", SAMPLE_RATE))
    if len(samples) and rate != SAMPLE_RATE:
        import librosa

        samples = librosa.resample(samples, orig_sr=rate, target_sr=SAMPLE_RATE)
    if len(samples) == 0:
        return None, Transcript(clip_id, status="empty_audio", reason="no samples")
    if float(np.abs(samples).max()) < SILENCE_PEAK:
        return None, Transcript(clip_id, status="empty_audio", reason="digital silence")
    return samples, None


def transcribe_shard(
    manifest: str | Path,
    split: str,
    shard: int,
    audio_store: str | Path,
    out: str | Path,
    transcriber: Transcriber,
    batch_size: int,
) -> ShardReport:
    """Write the transcript table ``out`` of one shard: one row per manifest clip."""
    rows = shard_rows(manifest, split, shard)
    report = ShardReport(f"transcribe[{transcriber.name}]", split, shard)
    results: dict[str, Transcript] = {}
    clips: list[tuple[str, np.ndarray]] = []
    audio_seconds = 0.0
    with SequenceReader(audio_store) as store:
        for clip_id in rows["id"]:
            samples, early = load_clip(store, clip_id)
            if early is not None:
                early.backend = transcriber.name
                results[clip_id] = early
            else:
                clips.append((clip_id, samples))
                audio_seconds += len(samples) / SAMPLE_RATE
    for result in run_backend(transcriber, clips, batch_size):
        results[result.id] = result
    for clip_id in rows["id"]:
        result = results[clip_id]
        if result.status == "ok":
            report.ok("empty_text" if not result.text else "")
        else:
            report.miss(clip_id, result.reason, result.status)
    report.totals.update(audio_seconds=round(audio_seconds, 1))
    table = pd.DataFrame([results[c].row() for c in rows["id"]], columns=list(COLUMNS))
    write_table(table, out)
    return report


def merge_transcripts(inputs: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Concatenate shard tables into one split table sorted by id; columns and ids are checked."""
    frames = []
    for path in inputs:
        table = read_table(path)
        if list(table.columns) != list(COLUMNS):
            raise ValueError(
                f"transcript table {path}: columns {list(table.columns)}, expected {list(COLUMNS)}"
            )
        frames.append(table)
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    duplicated = merged["id"][merged["id"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"clip ids in more than one transcript shard: {duplicated[:10]}")
    merged = merged.sort_values("id").reset_index(drop=True)
    write_table(merged, out)
    return merged

"""Mono 16 kHz float32 audio per clip, from the dataset's audio file or the mp4's audio stream.

The source is the dataset's audio file (``audio_path`` in the manifest, e.g. ``audio/00012.mp3``)
when there is one and it decodes, else the mp4's first audio stream. Decoding is PyAV's; the
resampling to ``sample_rate`` is libswresample's (``av.AudioResampler``), and mono is the mean of
the channels (as ``librosa.to_mono``). A
``max_seconds`` cap keeps the first seconds of a long clip. A clip with no audio anywhere raises
:class:`~emibench.media.container.MediaError`, which the shard job turns into a missing entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from emibench.data.store import SequenceWriter
from emibench.media.container import MediaError, open_media
from emibench.media.shard_jobs import ShardReport, is_broken, shard_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioSettings:
    """sample_rate: output rate in Hz; max_seconds: keep at most this many seconds (0: all)."""

    sample_rate: int = 16000
    max_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.sample_rate < 1000 or self.max_seconds < 0:
            raise ValueError(f"invalid audio settings: {self}")


@dataclass
class ClipAudio:
    """samples: (N,) float32 mono at the configured rate; source: ``file`` or ``mp4``."""

    samples: np.ndarray
    source: str
    source_rate: int
    source_channels: int
    capped: bool = False
    reason: str = ""


def decode_audio(path: str | Path, settings: AudioSettings) -> ClipAudio:
    """Decode the first audio stream of ``path`` to mono float32 at ``settings.sample_rate``.

    Decoding that stops early keeps what was decoded (``reason`` says so); no audio stream, or
    nothing decodable, raises ``MediaError``.
    """
    with open_media(path) as container:
        if not container.streams.audio:
            raise MediaError(f"no audio track in {path}")
        stream = container.streams.audio[0]
        source_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 0)
        # Keep the channel layout through resampling; mono is then the mean of the channels.
        resampler = av.AudioResampler(format="fltp", rate=settings.sample_rate)
        limit = round(settings.max_seconds * settings.sample_rate) if settings.max_seconds else None
        chunks: list[np.ndarray] = []
        total, capped, reason = 0, False, ""

        def keep(frames) -> None:
            nonlocal total
            for out in frames:
                chunk = out.to_ndarray().mean(axis=0, dtype=np.float32)
                chunks.append(chunk)
                total += len(chunk)

        try:
            for frame in container.decode(stream):
                keep(resampler.resample(frame))
                if limit is not None and total >= limit:
                    capped = True
                    break
            if not capped:
                keep(resampler.resample(None))
        except (av.FFmpegError, EOFError) as err:
            reason = (
                f"cut short after {total / settings.sample_rate:.2f} s: decoding stopped: {err}"
            )
    samples = (
        np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    )
    if limit is not None and len(samples) > limit:
        samples, capped = samples[:limit], True
    if len(samples) == 0:
        raise MediaError(f"no decodable audio in {path}" + (f" ({reason})" if reason else ""))
    return ClipAudio(samples, "", source_rate, channels, capped, reason)


def clip_audio(row: Mapping[str, Any], settings: AudioSettings) -> ClipAudio:
    """A manifest row's audio: its audio file when present and readable, else the mp4's stream."""
    candidates = []
    if row.get("audio_path"):
        candidates.append(("file", row["audio_path"]))
    if not is_broken(row) and row.get("video_path"):
        candidates.append(("mp4", row["video_path"]))
    if not candidates:
        raise MediaError(row.get("reason") or "no audio file and no readable video")
    failures = []
    for source, path in candidates:
        try:
            audio = decode_audio(path, settings)
        except (MediaError, av.FFmpegError, OSError) as err:
            failures.append(str(err))
            continue
        audio.source = source
        if failures:
            audio.reason = "; ".join([*failures, f"used the {source} audio", audio.reason]).strip(
                "; "
            )
        return audio
    if is_broken(row) and row.get("reason"):
        failures.append(f"video broken: {row['reason']}")
    raise MediaError("; ".join(failures))


def write_audio_shard(
    manifest: str | Path, split: str, shard: int, out: str | Path, settings: AudioSettings
) -> ShardReport:
    """Extract every clip of one shard into the audio store ``out`` (docs/architecture.md).

    A clip without audio gets an empty entry with ``missing=True``, the reason and ``source=none``.
    """
    rows = shard_rows(manifest, split, shard)
    report = ShardReport("audio", split, shard)
    rate = settings.sample_rate
    seconds = 0.0
    with SequenceWriter(out, kind="audio", rate_hz=rate, max_seconds=settings.max_seconds) as store:
        for row in report.track(rows):
            clip_id = row["id"]
            try:
                audio = clip_audio(row, settings)
            except Exception as err:  # noqa: BLE001 - one clip must never crash the shard
                reason = str(err) if isinstance(err, MediaError) else f"{type(err).__name__}: {err}"
                store.write_missing(
                    clip_id, (), np.float32, reason, sample_rate=rate, source="none"
                )
                report.miss(
                    clip_id, reason, "no_audio_track" if "no audio track" in reason else "no_audio"
                )
                continue
            store.write(
                clip_id,
                audio.samples,
                reason=audio.reason,
                sample_rate=rate,
                source=audio.source,
                source_rate=audio.source_rate,
                source_channels=audio.source_channels,
                capped=audio.capped,
            )
            if audio.reason:
                log.warning("audio: clip %s: %s", clip_id, audio.reason)
            seconds += len(audio.samples) / rate
            report.ok(
                f"source_{audio.source}",
                f"from_{audio.source_rate}Hz",
                "stereo" if audio.source_channels > 1 else "",
                "capped" if audio.capped else "",
                "cut_short" if "cut short" in audio.reason else "",
            )
    report.totals.update(audio_seconds=round(seconds, 1))
    return report

"""Frames sampled at a fixed rate by timestamp, optionally face-cropped, resized to a square.

Sampling works on presentation times (``pts * time_base``), not frame indices, so variable frame
rates and odd rates (29.97, 12, 60 fps) give about ``duration * rate_hz`` frames:

1. the target times are fixed before decoding, from the video stream's duration (the container's
   duration when the stream has none, else one demux pass over the packets): ``k / rate_hz`` for
   ``k = 0 .. ceil(duration * rate_hz) - 1``, and at least one target (t = 0) for a clip shorter
   than one step;
2. with a cap (``max_frames``), the targets are thinned to ``max_frames`` of them spread uniformly
   over the whole clip (``round(linspace(0, n - 1, max_frames))`` of the grid);
3. the clip is decoded once; a target ``t`` takes the frame on screen at ``t`` (the last frame with
   ``pts <= t``, or the first frame for a target before it), and only frames that are taken are
   converted to RGB, cropped and resized, so memory stays at ``targets x size^2 x 3`` bytes
   whatever the clip's length.

A clip whose decoding stops early (truncated file, corrupt packets) keeps the frames decoded before
the error, with a ``reason`` saying it was cut short; a clip with no decodable frame raises
:class:`MediaError`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from emibench.data.store import SequenceWriter
from emibench.media.container import MediaError, open_media
from emibench.media.face_crop import FaceCropper, FaceSettings
from emibench.media.shard_jobs import ShardReport, is_broken, shard_rows

log = logging.getLogger(__name__)

EPS = 1e-6  # seconds of slack for rounding when comparing frame times with target times


@dataclass(frozen=True)
class FrameSettings:
    """rate_hz: sampling rate; max_frames: cap per clip (0: none); size: output side in pixels."""

    rate_hz: float = 5.0
    max_frames: int = 1500
    size: int = 224
    face: FaceSettings = field(default_factory=FaceSettings)

    def __post_init__(self) -> None:
        if self.rate_hz <= 0 or self.max_frames < 0 or self.size < 8:
            raise ValueError(
                f"invalid frame settings: rate_hz={self.rate_hz} max_frames={self.max_frames} size={self.size}"
            )


@dataclass
class SampledFrames:
    """The sampled frames of one clip.

    frames: (T, S, S, 3) uint8 RGB; timestamps: (T,) float32 seconds from the stream start;
    face: (T,) bool, True where the crop is around a detected face; n_grid: frames the rate grid
    had before the cap; reason: empty, or why the clip was cut short.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    face: np.ndarray
    source_fps: float
    duration_s: float
    width: int
    height: int
    n_grid: int
    reason: str = ""

    @property
    def capped(self) -> bool:
        return self.n_grid > len(self.timestamps)


def target_timestamps(
    duration_s: float, rate_hz: float, max_frames: int = 0
) -> tuple[np.ndarray, int]:
    """Target times (s) for a clip of ``duration_s`` at ``rate_hz``, thinned to ``max_frames``.

    Returns ``(targets, n_grid)``: the sorted (T,) float64 targets and the size of the full grid.
    """
    n_grid = max(1, math.ceil(duration_s * rate_hz - 1e-6))
    grid = np.arange(n_grid, dtype=np.float64) / rate_hz
    if max_frames and n_grid > max_frames:
        grid = grid[np.round(np.linspace(0, n_grid - 1, max_frames)).astype(int)]
    return grid, n_grid


def _span(path: str | Path, container, stream) -> tuple[float, float]:
    """``(start, duration)`` of a video stream in seconds; a demux pass when no header says it."""
    tb = float(stream.time_base)
    start = stream.start_time * tb if stream.start_time is not None else 0.0
    if stream.duration:
        return start, stream.duration * tb
    if container.duration:
        container_start = (container.start_time or 0) / av.time_base
        return start, container.duration / av.time_base - (start - container_start)
    end = None
    with av.open(str(path)) as probe:
        for packet in probe.demux(probe.streams.video[0]):
            if packet.pts is not None:
                stop = (packet.pts + (packet.duration or 0)) * tb
                end = stop if end is None else max(end, stop)
    if end is None:
        raise MediaError(f"{path}: video stream has no timestamps")
    return start, end - start


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    """(H, W, 3) uint8 in display orientation (applies the stream's rotation matrix)."""
    image = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def sample_frames(path: str | Path, settings: FrameSettings, threads: int = 1) -> SampledFrames:
    """Decode ``path`` once and return its frames sampled at ``settings.rate_hz`` (see module doc)."""
    with open_media(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = max(1, threads)
        start, duration = _span(path, container, stream)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        source_fps = float(rate) if rate else 0.0
        targets, n_grid = target_timestamps(duration, settings.rate_hz, settings.max_frames)
        n, size = len(targets), settings.size
        frames = np.zeros((n, size, size, 3), np.uint8)
        face = np.zeros(n, bool)
        cropper = FaceCropper(settings.face, size)
        shape = (0, 0)
        j = 0
        last = None  # (frame, t, cached crop)
        error = ""

        def take(item):
            nonlocal j, shape
            frame, _, crop = item
            if crop is None:
                rgb = _rgb(frame)
                shape = rgb.shape[:2]
                crop = item[2] = cropper(rgb)
            frames[j], face[j] = crop
            j += 1

        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    t = frame.time - start
                elif last is not None:
                    t = last[1] + (1 / source_fps if source_fps else 0.0)
                else:
                    t = 0.0
                current = [frame, t, None]
                while j < n and targets[j] + EPS < t:
                    take(last if last is not None else current)
                last = current
                if j == n:
                    break
        except (av.FFmpegError, EOFError) as err:
            error = f"decoding stopped: {err}"
        if last is None:
            raise MediaError(f"{path}: no decodable video frame" + (f" ({error})" if error else ""))
        step = 1 / source_fps if source_fps else 1 / settings.rate_hz
        while j < n and targets[j] <= last[1] + step + EPS:
            take(last)
    reason = ""
    if j < n:
        reason = f"cut short: frames end at {last[1] + step:.2f} s of {duration:.2f} s"
        reason += f" ({error})" if error else ""
    height, width = shape
    return SampledFrames(
        frames=frames[:j],
        timestamps=targets[:j].astype(np.float32),
        face=face[:j],
        source_fps=source_fps,
        duration_s=float(duration),
        width=int(width),
        height=int(height),
        n_grid=n_grid,
        reason=reason,
    )


def clip_notes(duration_s: float, fps: float, width: int, height: int) -> list[str]:
    """Names of the notable cases a clip falls in, counted in the shard summaries."""
    notes = [f"fps_{fps:.2f}".rstrip("0").rstrip(".")]
    if height > width:
        notes.append("portrait")
    if duration_s < 0.2:
        notes.append("under_0.2s")
    if duration_s > 120:
        notes.append("over_2min")
    return notes


def write_frames_shard(
    manifest: str | Path,
    split: str,
    shard: int,
    out: str | Path,
    settings: FrameSettings,
    threads: int = 1,
) -> ShardReport:
    """Sample every clip of one shard into the frames store ``out`` (docs/architecture.md).

    Broken clips (manifest ``status=broken``) and clips with no decodable frame get a missing
    (0, S, S, 3) entry with the reason; a clip cut short keeps its frames and says why in ``reason``.
    """
    rows = shard_rows(manifest, split, shard)
    report = ShardReport("frames", split, shard)
    size = settings.size
    attrs = {
        "kind": "frames",
        "rate_hz": settings.rate_hz,
        "size": size,
        "max_frames": settings.max_frames,
        "face_detector": settings.face.detector,
    }
    n_frames = n_face = 0
    with SequenceWriter(out, **attrs) as store:
        for row in report.track(rows):
            clip_id = row["id"]
            if is_broken(row):
                reason = row["reason"] or "broken in the manifest"
                store.write_missing(clip_id, (size, size, 3), np.uint8, reason, source_fps=0.0)
                report.miss(clip_id, reason, "broken")
                continue
            try:
                clip = sample_frames(row["video_path"], settings, threads)
            except Exception as err:  # noqa: BLE001 - one clip must never crash the shard
                reason = str(err) if isinstance(err, MediaError) else f"{type(err).__name__}: {err}"
                store.write_missing(clip_id, (size, size, 3), np.uint8, reason, source_fps=0.0)
                report.miss(clip_id, reason, "undecodable")
                continue
            store.write(
                clip_id,
                clip.frames,
                extras={"timestamps": clip.timestamps, "face": clip.face},
                reason=clip.reason,
                source_fps=clip.source_fps,
                duration_s=clip.duration_s,
                width=clip.width,
                height=clip.height,
                n_grid=clip.n_grid,
                capped=clip.capped,
            )
            if clip.reason:
                log.warning("frames: clip %s %s", clip_id, clip.reason)
            n_frames += len(clip.timestamps)
            n_face += int(clip.face.sum())
            notes = clip_notes(clip.duration_s, clip.source_fps, clip.width, clip.height)
            report.ok(*notes, "capped" if clip.capped else "", "cut_short" if clip.reason else "")
    report.totals.update(frames=n_frames, face_frames=n_face)
    return report

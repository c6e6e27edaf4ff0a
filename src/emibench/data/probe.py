"""Probing media files with PyAV: container metadata, plus just enough decoding to trust it.

:func:`probe_video` reads duration, frame rate, size, frame count and the audio stream from the
container, decodes the first video frame and the first audio frame, and demuxes the packets of the
last second (after a seek) to check the data reaches the claimed end. A file that cannot be opened, has no video stream, or whose end does not decode
(a truncated download) is reported ``ok=False`` with the reason; probing never raises on bad media.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import av

# the last decoded frame must reach this close to the claimed end (seconds, or 3 frames if longer)
END_TOLERANCE_S = 0.5


@dataclass
class VideoProbe:
    """What a clip's mp4 holds; ``ok=False`` with ``reason`` when it is unreadable."""

    ok: bool = False
    reason: str = ""
    duration_s: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    n_video_frames: int = 0
    has_audio: bool = False
    audio_rate: int = 0
    audio_channels: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class AudioProbe:
    """A separate audio file (``audio/{id}.wav|.mp3``)."""

    ok: bool = False
    reason: str = ""
    duration_s: float = 0.0
    rate: int = 0
    channels: int = 0


def _error(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text.split("\n")[0][:200]


def _stream_seconds(stream, container) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _check_end(container, stream, duration: float, fps: float) -> str:
    """An empty string when the packets of the last second reach the claimed end, else why not.

    Demuxes (does not decode) from a seek one second before the end: a truncated file's packets
    stop where its data stops.
    """
    if duration <= 0:
        return ""
    tolerance = max(END_TOLERANCE_S, 3.0 / fps if fps else 0.0)
    start = stream.start_time or 0
    target = start + int(max(0.0, duration - 1.0) / stream.time_base)
    container.seek(target, stream=stream, backward=True)
    last = None
    for packet in container.demux(stream):
        if packet.size and packet.pts is not None:
            end = packet.pts + (packet.duration or 0)
            last = end if last is None else max(last, end)
    if last is None:
        return f"truncated: no video data in the last second of {duration:.2f} s"
    reached = float((last - start) * stream.time_base)
    if reached + tolerance < duration:
        return f"truncated: video data ends at {reached:.2f} s of {duration:.2f} s"
    return ""


def probe_video(path: str | Path) -> VideoProbe:
    """Probe one mp4 (or any container ffmpeg reads); never raises on bad media."""
    path = Path(path)
    probe = VideoProbe()
    if not path.exists():
        probe.reason = "missing file"
        return probe
    if path.stat().st_size == 0:
        probe.reason = "empty file (0 bytes)"
        return probe
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                probe.reason = "no video stream"
                return probe
            video = container.streams.video[0]
            ctx = video.codec_context
            probe.width, probe.height = int(ctx.width or 0), int(ctx.height or 0)
            rate = video.average_rate or video.base_rate or video.guessed_rate
            probe.fps = float(rate) if rate else 0.0
            probe.duration_s = _stream_seconds(video, container)
            probe.n_video_frames = int(video.frames or round(probe.duration_s * probe.fps))
            if container.streams.audio:
                audio = container.streams.audio[0]
                probe.has_audio = True
                probe.audio_rate = int(audio.codec_context.sample_rate or audio.rate or 0)
                probe.audio_channels = int(audio.codec_context.channels or 0)
            first = next(container.decode(video), None)
            if first is None:
                probe.reason = "no decodable video frame"
                return probe
            probe.width, probe.height = first.width, first.height
            if probe.has_audio:
                container.seek(0)
                if next(container.decode(audio=0), None) is None:
                    probe.reason = "audio stream does not decode"
                    return probe
            probe.reason = _check_end(container, video, probe.duration_s, probe.fps)
    except (av.FFmpegError, OSError, ValueError, StopIteration) as exc:
        probe.reason = f"unreadable: {_error(exc)}"
        return probe
    probe.ok = not probe.reason
    return probe


def probe_audio(path: str | Path) -> AudioProbe:
    """Probe a separate audio file (decodes its first frame); never raises on bad media."""
    probe = AudioProbe()
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        probe.reason = "missing file" if not path.exists() else "empty file (0 bytes)"
        return probe
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                probe.reason = "no audio stream"
                return probe
            stream = container.streams.audio[0]
            probe.rate = int(stream.codec_context.sample_rate or 0)
            probe.channels = int(stream.codec_context.channels or 0)
            probe.duration_s = _stream_seconds(stream, container)
            if next(container.decode(stream), None) is None:
                probe.reason = "no decodable audio frame"
                return probe
    except (av.FFmpegError, OSError, ValueError) as exc:
        probe.reason = f"unreadable: {_error(exc)}"
        return probe
    probe.ok = True
    return probe

"""Writing synthetic clips: H.264 + AAC mp4 through PyAV, and mono WAV or MP3 side files."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

AAC_FRAME = 1024


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: Fraction,
    width: int,
    height: int,
    audio: np.ndarray | None = None,
    audio_rate: int = 22050,
    faststart: bool = False,
    crf: int = 26,
) -> int:
    """Encode RGB frames (H, W, 3) uint8 as H.264 and ``audio`` (N,) or (C, N) float32 as AAC.

    ``audio=None`` writes a file with no audio stream. ``faststart`` puts the index (moov) at the
    front of the file, as web uploads do. Returns the number of video frames written.
    """
    options = {"movflags": "+faststart"} if faststart else {}
    n = 0
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "crf": str(crf)}
        video.codec_context.thread_count = 1
        sound = None
        if audio is not None:
            audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
            layout = "mono" if audio.shape[0] == 1 else "stereo"
            sound = container.add_stream("aac", rate=audio_rate, layout=layout)
            sound.codec_context.thread_count = 1
            sound.codec_context.options = {"aac_coder": "fast"}
        for frame in frames:
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = n
            vf.time_base = Fraction(1) / fps
            container.mux(video.encode(vf))
            n += 1
        container.mux(video.encode(None))
        if sound is not None:
            for start in range(0, audio.shape[1], AAC_FRAME):
                chunk = np.ascontiguousarray(audio[:, start : start + AAC_FRAME])
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=sound.layout.name)
                af.sample_rate = audio_rate
                af.pts = start
                af.time_base = Fraction(1, audio_rate)
                container.mux(sound.encode(af))
            container.mux(sound.encode(None))
    return n


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono float audio (N,) as 16-bit PCM WAV."""
    sf.write(str(path), np.clip(audio, -1, 1), sample_rate, subtype="PCM_16")


def write_mp3(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono float audio (N,) as MP3 (PyAV's bundled libmp3lame, its default bit rate)."""
    samples = np.clip(np.asarray(audio, dtype=np.float32), -1, 1)[None, :]
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        frame_size = stream.codec_context.frame_size or 1152
        for start in range(0, samples.shape[1], frame_size):
            chunk = np.ascontiguousarray(samples[:, start : start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


AUDIO_WRITERS = {"wav": write_wav, "mp3": write_mp3}


def write_audio_file(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono float audio (N,) in the format its suffix names (``.wav`` or ``.mp3``)."""
    suffix = Path(path).suffix.lstrip(".")
    if suffix not in AUDIO_WRITERS:
        raise ValueError(f"{path}: audio files are written as {sorted(AUDIO_WRITERS)}")
    AUDIO_WRITERS[suffix](path, audio, sample_rate)


def truncate_file(path: str | Path, keep: float) -> None:
    """Cut a file to the first ``keep`` share of its bytes (an interrupted copy or download)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(max(1, int(size * keep)))

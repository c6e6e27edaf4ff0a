"""Small mp4 clips encoded with PyAV, for tests and for the preprocessing benchmark.

Each frame is a flat colour that encodes its index (:func:`frame_colour` / :func:`frame_index`),
so a test can tell which source frame the sampler picked. Frame times are free: a constant rate
(any fraction, e.g. 30000/1001) or an explicit list of times for a variable-frame-rate clip.
Optionally a cartoon face that OpenCV's Haar cascade detects, and an AAC audio track.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

TIME_BASE = Fraction(1, 90000)
_LEVELS = 28


def frame_colour(index: int) -> tuple[int, int, int]:
    """The RGB colour that frame ``index`` is filled with (unique for the first 784 frames)."""
    return 16 + 8 * (index % _LEVELS), 16 + 8 * ((index // _LEVELS) % _LEVELS), 128


def frame_index(rgb: np.ndarray) -> int:
    """Inverse of :func:`frame_colour` on a decoded (H, W, 3) frame (uses the corner pixels' mean)."""
    corner = (
        rgb[: max(1, rgb.shape[0] // 8), : max(1, rgb.shape[1] // 8)].reshape(-1, 3).mean(axis=0)
    )
    r, g = (round((c - 16) / 8) for c in corner[:2])
    return r + _LEVELS * g


def draw_face(image: np.ndarray, cx: int, cy: int, s: int) -> None:
    """Draw, in place, a cartoon frontal face of half-height ``s`` centred at (cx, cy) on RGB ``image``."""
    cv2.ellipse(image, (cx, cy), (int(s * 0.8), s), 0, 0, 360, (225, 190, 170), -1)
    cv2.ellipse(
        image,
        (cx, cy - int(s * 0.75)),
        (int(s * 0.85), int(s * 0.4)),
        0,
        180,
        360,
        (60, 40, 40),
        -1,
    )
    eye_y, eye_dx = cy - int(s * 0.2), int(s * 0.33)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        cv2.ellipse(image, (ex, eye_y), (int(s * 0.16), int(s * 0.08)), 0, 0, 360, (40, 40, 40), -1)
        brow_y = eye_y - int(s * 0.2)
        cv2.line(
            image,
            (ex - int(s * 0.2), brow_y),
            (ex + int(s * 0.2), brow_y),
            (60, 50, 50),
            max(2, s // 15),
        )
    cv2.line(
        image,
        (cx, eye_y + int(s * 0.1)),
        (cx - int(s * 0.08), cy + int(s * 0.25)),
        (170, 140, 120),
        max(2, s // 20),
    )
    cv2.ellipse(
        image, (cx, cy + int(s * 0.5)), (int(s * 0.3), int(s * 0.1)), 0, 0, 360, (140, 60, 60), -1
    )


def write_clip(
    path: str | Path,
    duration_s: float = 2.0,
    fps: float | Fraction = 25,
    size: tuple[int, int] = (160, 120),
    frame_times: Sequence[float] | None = None,
    face: tuple[int, int, int] | None = None,
    audio: np.ndarray | None = None,
    audio_rate: int = 44100,
    audio_channels: int = 1,
) -> Path:
    """Encode an H.264 mp4 (yuv420p) and return its path.

    Args:
        duration_s: clip length when ``frame_times`` is not given (``ceil(duration * fps)`` frames).
        fps: constant frame rate; a float like 29.97 is turned into 30000/1001.
        size: (width, height) in pixels, even numbers.
        frame_times: explicit presentation times in seconds (variable frame rate).
        face: (cx, cy, half_height) of a cartoon face drawn on every frame.
        audio: float samples in [-1, 1], (N,) or (N, channels), written as AAC at ``audio_rate``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    if frame_times is None:
        n = max(1, int(np.ceil(duration_s * float(rate) - 1e-9)))
        frame_times = [k / float(rate) for k in range(n)]
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = TIME_BASE
        video.codec_context.time_base = TIME_BASE
        video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        track = None
        if audio is not None:
            track = container.add_stream("aac", rate=audio_rate)
            track.layout = "mono" if audio_channels == 1 else "stereo"
        for k, t in enumerate(frame_times):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = frame_colour(k)
            if face is not None:
                draw_face(image, *face)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(t / TIME_BASE)
            frame.time_base = TIME_BASE
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if track is not None:
            _encode_audio(container, track, audio, audio_rate, audio_channels)
    return path


def _encode_audio(container, track, audio: np.ndarray, rate: int, channels: int) -> None:
    samples = np.asarray(audio, np.float32)
    if samples.ndim == 1:
        samples = np.repeat(samples[:, None], channels, axis=1)
    planar = np.ascontiguousarray(samples.T)  # (channels, N) for the planar float format
    block = 1024
    for start in range(0, planar.shape[1], block):
        chunk = np.ascontiguousarray(planar[:, start : start + block])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=track.layout.name)
        frame.sample_rate = rate
        frame.pts = start
        container.mux(track.encode(frame))
    container.mux(track.encode(None))


def tone(duration_s: float, rate: int, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone, (N,) float32."""
    t = np.arange(round(duration_s * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)

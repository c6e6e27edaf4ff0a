"""Square crops around the largest face (OpenCV Haar cascade), with a centre-crop fallback.

Detection runs on a downscaled grey copy of the frame (``detect_width`` pixels wide) and only on
every ``detect_every``-th sampled frame of a clip; the frames in between reuse the last result
(a face box or "no face"). At 5 fps and ``detect_every=5`` that is one detection a second, which
keeps the crop steady and costs a few milliseconds per second of video.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

DETECTORS = ("haar", "none")
HAAR_FILE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class FaceSettings:
    """How frames are cropped before resizing.

    detector: ``haar`` (OpenCV frontal-face cascade) or ``none`` (always the centre square).
    margin: extra context around the face box, as a fraction of the box side on each side.
    detect_every: run detection on every n-th sampled frame; the others reuse its result.
    detect_width: width in pixels of the grey copy that detection runs on.
    min_size: smallest face searched for, as a fraction of the frame's shorter side.
    """

    detector: str = "haar"
    margin: float = 0.25
    detect_every: int = 5
    detect_width: int = 160
    min_size: float = 0.15

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"face.detector must be one of {DETECTORS}, got {self.detector!r}")
        if (
            self.detect_every < 1
            or self.detect_width < 32
            or not 0 < self.min_size < 1
            or self.margin < 0
        ):
            raise ValueError(f"invalid face settings: {self}")


@lru_cache(maxsize=1)
def _haar() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + HAAR_FILE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"could not load the OpenCV Haar cascade {path}")
    return cascade


Box = tuple[int, int, int]  # (x0, y0, side) of a square inside the frame


def centre_square(height: int, width: int) -> Box:
    """The largest square centred in a ``height`` x ``width`` frame."""
    side = min(height, width)
    return (width - side) // 2, (height - side) // 2, side


def square_around(
    x: float, y: float, w: float, h: float, margin: float, height: int, width: int
) -> Box:
    """A square of side ``max(w, h) * (1 + 2 * margin)`` centred on a box, moved inside the frame."""
    side = round(min(max(w, h) * (1 + 2 * margin), height, width))
    cx, cy = x + w / 2, y + h / 2
    x0 = round(min(max(cx - side / 2, 0), width - side))
    y0 = round(min(max(cy - side / 2, 0), height - side))
    return x0, y0, side


def detect_largest_face(
    rgb: np.ndarray, settings: FaceSettings
) -> tuple[float, float, float, float] | None:
    """Largest frontal face ``(x, y, w, h)`` in full-frame pixels, or None.

    ``rgb`` is a (H, W, 3) uint8 frame; detection runs on a grey copy ``detect_width`` wide.
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, settings.detect_width / width)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(
            grey,
            (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        )
    min_side = max(12, int(settings.min_size * min(grey.shape)))
    faces = _haar().detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side)
    )
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return x / scale, y / scale, w / scale, h / scale


class FaceCropper:
    """Crop-and-resize for the sampled frames of one clip (keeps the last detection).

    ``__call__(rgb)`` takes a (H, W, 3) uint8 frame and returns ``(crop, face)``: a
    (size, size, 3) uint8 image and whether it was cropped around a detected face (True) or is the
    centre square (False).
    """

    def __init__(self, settings: FaceSettings, size: int):
        self.settings = settings
        self.size = size
        self._count = 0
        self._face: tuple[float, float, float, float] | None = None

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        height, width = rgb.shape[:2]
        if self.settings.detector == "haar" and self._count % self.settings.detect_every == 0:
            self._face = detect_largest_face(rgb, self.settings)
        self._count += 1
        if self._face is not None:
            x0, y0, side = square_around(*self._face, self.settings.margin, height, width)
        else:
            x0, y0, side = centre_square(height, width)
        crop = rgb[y0 : y0 + side, x0 : x0 + side]
        interp = cv2.INTER_AREA if side > self.size else cv2.INTER_LINEAR
        return cv2.resize(
            crop, (self.size, self.size), interpolation=interp
        ), self._face is not None

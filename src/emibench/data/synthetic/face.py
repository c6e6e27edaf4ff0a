"""Procedurally drawn faces (OpenCV primitives) whose expression follows the latent emotions.

A subject has a fixed :class:`Look` (skin tone, face shape, eye spacing, hair, clothes, room).
A clip has an expression track (T, 6) over :data:`EXPRESSIONS` and a head pose track (T, 3)
``(dx, dy, roll_deg)``, built by :func:`expression_track` from the clip's latents; each frame is
drawn by :func:`draw_frame`. The face is frontal and fills about two thirds of the frame height so
that a Haar frontal-face cascade has a fair chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

EXPRESSIONS = ("smile", "brow_raise", "brow_furrow", "eye_open", "mouth_open", "head_motion")

# How each emotion (columns, EMOTIONS order: Admiration, Amusement, Determination, Empathic Pain,
# Excitement, Joy) moves each expression parameter (rows, EXPRESSIONS order). Full rank, so the
# six latents are identifiable from the face in principle.
EXPRESSION_MIX = np.array(
    [
        [0.3, 0.7, 0.0, -0.6, 0.3, 0.9],  # smile (negative: frown)
        [0.7, 0.2, -0.3, 0.4, 0.6, 0.1],  # brow raise
        [0.0, 0.0, 0.9, 0.6, 0.0, -0.2],  # brow furrow
        [0.5, -0.5, 0.3, -0.4, 0.7, -0.1],  # eye opening (negative: squint)
        [0.3, 0.7, -0.4, 0.1, 0.7, 0.2],  # mouth opening
        [0.1, 0.6, 0.3, 0.2, 0.8, 0.3],  # head motion
    ]
)
RANGES = np.array([[-1, 1], [0, 1], [0, 1], [-1, 1], [0, 1], [0, 1]], dtype=float)

SKIN_TONES = np.array(
    [
        [255, 224, 196],
        [241, 194, 160],
        [224, 172, 128],
        [198, 134, 94],
        [141, 85, 54],
        [96, 60, 40],
    ],
    dtype=float,
)
HAIR_COLORS = np.array(
    [[30, 25, 20], [70, 45, 25], [120, 80, 40], [200, 170, 100], [150, 60, 30], [160, 160, 160]],
    dtype=float,
)
HAIR_STYLES = ("short", "long", "bald", "bun")
OCCLUDERS = ("hand", "band", "cup")


@dataclass(frozen=True)
class Look:
    """A subject's appearance (colours RGB 0..255; lengths in face half-heights)."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    shirt: tuple[int, int, int]
    wall: tuple[int, int, int]
    aspect: float  # face half-width / half-height
    scale: float  # face half-height as a share of the frame's smaller side
    eye_spacing: float
    eye_size: float
    iris: tuple[int, int, int]
    lips: tuple[int, int, int]
    rest: tuple[float, ...]  # resting offset of each expression parameter


def _color(rgb: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(c) for c in np.clip(rgb, 0, 255))


def sample_look(rng: np.random.Generator) -> Look:
    """A random subject appearance."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] + rng.normal(0, 8, 3)
    return Look(
        skin=_color(skin),
        hair=_color(HAIR_COLORS[rng.integers(len(HAIR_COLORS))] + rng.normal(0, 6, 3)),
        hair_style=HAIR_STYLES[int(rng.choice(len(HAIR_STYLES), p=[0.45, 0.3, 0.1, 0.15]))],
        shirt=_color(rng.uniform(20, 235, 3)),
        wall=_color(rng.uniform(120, 230, 3)),
        aspect=float(rng.uniform(0.72, 0.86)),
        scale=float(rng.uniform(0.38, 0.42)),
        eye_spacing=float(rng.uniform(0.30, 0.40)),
        eye_size=float(rng.uniform(0.16, 0.19)),
        iris=_color(rng.choice([[60, 40, 20], [40, 90, 150], [60, 110, 60], [30, 30, 30]])),
        lips=_color(skin * np.array([0.75, 0.5, 0.5])),
        rest=tuple(float(v) for v in rng.normal(0, 0.08, len(EXPRESSIONS))),
    )


def smooth_noise(
    rng: np.random.Generator, t: np.ndarray, n: int, max_hz: float = 0.8
) -> np.ndarray:
    """``n`` smooth random curves over times ``t`` (T,): (T, n), about unit standard deviation."""
    freqs = rng.uniform(0.05, max_hz, (3, n))
    phases = rng.uniform(0, 2 * np.pi, (3, n))
    return np.sqrt(2 / 3) * np.sin(2 * np.pi * t[:, None, None] * freqs + phases).sum(axis=1)


def expression_track(
    rng: np.random.Generator, latents: np.ndarray, look: Look, t: np.ndarray, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Expression (T, 6) and head pose (T, 3) over frame times ``t`` (T,) for latents (6,).

    ``p(t) = rest + s * (M z) * env(t) + (1 - s) * 0.4 * n(t) + 0.04 * jitter``, clipped to each
    parameter's range; ``s`` the visual signal strength, ``env`` a slow mimicry envelope that ramps
    up over the first second, ``n`` smooth noise. The pose oscillates with amplitude set by the
    head-motion parameter: sway (dx), bobbing (dy, a laugh's rhythm) and roll.
    """
    env = np.clip(0.8 + 0.15 * smooth_noise(rng, t, 1, 0.4)[:, 0], 0.5, 1.0)
    env *= np.clip(0.3 + 0.7 * t / 0.5, 0, 1)
    drive = EXPRESSION_MIX @ latents  # (6,)
    noise = smooth_noise(rng, t, len(EXPRESSIONS), 1.0)
    jitter = rng.normal(0, 1, (len(t), len(EXPRESSIONS)))
    expr = (
        np.asarray(look.rest)
        + strength * drive[None, :] * env[:, None]
        + (1 - strength) * 0.4 * noise
        + 0.04 * jitter
    )
    expr = np.clip(expr, RANGES[:, 0], RANGES[:, 1])
    motion = expr[:, EXPRESSIONS.index("head_motion")]
    phase = rng.uniform(0, 2 * np.pi, 3)
    pose = np.stack(
        [
            0.12 * motion * np.sin(2 * np.pi * 0.6 * t + phase[0]),
            0.05 * motion * np.sin(2 * np.pi * 3.5 * t + phase[1]),
            9.0 * motion * np.sin(2 * np.pi * 0.35 * t + phase[2]),
        ],
        axis=1,
    )
    return expr.astype(np.float32), pose.astype(np.float32)


def draw_background(look: Look, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """The room behind the subject: a wall gradient and a door or shelf, RGB (H, W, 3) uint8."""
    wall = np.asarray(look.wall, dtype=float)
    ramp = np.linspace(0.8, 1.1, height)[:, None, None]
    canvas = np.clip(ramp * wall[None, None, :], 0, 255).astype(np.uint8)
    canvas = np.ascontiguousarray(np.broadcast_to(canvas, (height, width, 3)))
    x0 = (
        int(rng.uniform(0, 0.2) * width)
        if rng.uniform() < 0.5
        else int(rng.uniform(0.7, 0.85) * width)
    )
    y0 = int(rng.uniform(0.05, 0.3) * height)
    cv2.rectangle(
        canvas,
        (x0, y0),
        (x0 + int(0.15 * width), height),
        _color(wall * rng.uniform(0.5, 0.8)),
        -1,
    )
    return canvas


class FacePainter:
    """Draws one subject's face for given expression and pose parameters onto a background."""

    def __init__(self, look: Look, width: int, height: int, occluder: str | None = None):
        self.look = look
        self.unit = look.scale * min(width, height)  # face half-height in pixels
        self.cx, self.cy = width / 2, height * 0.5
        self._roll, self._cs = 0.0, (1.0, 0.0)
        self.occluder = occluder
        self.skin_dark = _color(np.asarray(look.skin) * 0.8)
        self.skin_shadow = _color(np.asarray(look.skin) * 0.65)
        self.socket = _color(np.asarray(look.skin) * 0.5)
        self.lash = (20, 15, 15)
        self.highlight = _color(np.asarray(look.skin) + 0.4 * (255 - np.asarray(look.skin)))
        self.thick = max(1, round(self.unit * 0.07))

    def _pt(self, x: float, y: float, pose) -> tuple[int, int]:
        dx, dy, roll = pose
        if roll != self._roll:
            self._roll = roll
            self._cs = (math.cos(math.radians(roll)), math.sin(math.radians(roll)))
        c, s = self._cs
        px = (c * x - s * y + dx) * self.unit + self.cx
        py = (s * x + c * y + dy) * self.unit + self.cy
        return int(px + 0.5), int(py + 0.5)

    def _ellipse(self, img, x, y, ax, ay, pose, color, angle=0.0, start=0, end=360, thick=-1):
        axes = (max(1, int(ax * self.unit + 0.5)), max(1, int(ay * self.unit + 0.5)))
        cv2.ellipse(
            img, self._pt(x, y, pose), axes, float(pose[2] + angle), start, end, color, thick
        )

    def _line(self, img, p, q, pose, color, thick):
        cv2.line(img, self._pt(*p, pose), self._pt(*q, pose), color, thick, cv2.LINE_AA)

    def _poly(self, img, points, pose, color):
        pts = np.array([self._pt(x, y, pose) for x, y in points], dtype=np.int32)
        cv2.fillPoly(img, [pts], color, cv2.LINE_AA)

    def draw(self, img: np.ndarray, expr: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Draw onto ``img`` (H, W, 3) uint8 RGB in place; expr (6,), pose (3,)."""
        look, a = self.look, self.look.aspect
        smile, raise_, furrow, eye_open, mouth_open, _ = (float(v) for v in expr)
        body_pose = np.array([pose[0] * 0.5, 0.0, 0.0])
        self._ellipse(img, 0, 2.15, 1.9, 0.95, body_pose, look.shirt)  # shoulders
        if look.hair_style == "long":  # falls behind the neck onto the shoulders
            self._ellipse(img, 0, -0.1, a * 1.2, 1.0, pose, look.hair)
            self._poly(
                img,
                [(-a * 1.2, -0.1), (a * 1.2, -0.1), (a * 1.3, 1.1), (-a * 1.3, 1.1)],
                pose,
                look.hair,
            )
        cv2.rectangle(
            img,
            self._pt(-0.3, 0.6, body_pose),
            self._pt(0.3, 1.4, body_pose),
            self.skin_shadow,
            -1,
        )
        for side in (-1, 1):  # ears
            self._ellipse(img, side * a * 0.98, 0.05, 0.12, 0.2, pose, self.skin_dark)
        self._ellipse(img, 0, 0, a, 1.0, pose, look.skin)  # face
        for side in (-1, 1):  # lit cheekbones
            self._ellipse(img, side * a * 0.55, 0.14, 0.16, 0.08, pose, self.highlight)
        crease = max(1, round(self.unit * 0.04))
        if raise_ > 0.2:  # forehead lines above the raised brows
            for k in range(2):
                y = -0.48 - 0.2 * raise_ - 0.1 * k
                self._line(img, (-0.3, y), (0.3, y), pose, self.skin_shadow, crease)
        if look.hair_style != "bald":
            self._ellipse(img, 0, -0.55, a * 1.04, 0.55, pose, look.hair, start=180, end=360)
            self._ellipse(img, 0, -0.56, a * 0.98, 0.2, pose, look.skin, start=0, end=180)
        if look.hair_style == "bun":
            self._ellipse(img, 0, -1.08, 0.28, 0.2, pose, look.hair)

        # Expression cues are drawn large: the features are read off 64-pixel face crops.
        # cheeks: a smile raises and flushes them (AU6)
        flush = max(smile, 0.0)
        if flush > 0.05:
            cheek = _color(
                np.asarray(look.skin) * (1 - 0.25 * flush) + np.array([230, 60, 70]) * 0.25 * flush
            )
            for side in (-1, 1):
                self._ellipse(img, side * a * 0.6, 0.22 - 0.06 * flush, 0.2, 0.13, pose, cheek)
        # eyes: socket shadow, sclera, iris, pupil; the opening widens or narrows them and a
        # smile narrows them (Duchenne)
        open_ = float(np.clip(1.0 + 0.8 * eye_open - 0.4 * flush, 0.12, 1.9))
        es, ey, ew = look.eye_spacing, -0.08, look.eye_size
        eh = 0.085 * open_
        for side in (-1, 1):
            x = side * es
            self._ellipse(img, x, ey - 0.03, ew * 1.45, 0.19, pose, self.socket)
            self._ellipse(img, x, ey, ew, eh, pose, (245, 245, 245))
            self._ellipse(img, x, ey, 0.065, min(0.065, eh), pose, look.iris)
            self._ellipse(img, x, ey, 0.03, min(0.03, eh), pose, (10, 10, 10))
            self._ellipse(img, x, ey, ew, eh, pose, self.lash, start=180, end=360, thick=self.thick)
        # eyebrows: thick bars; a raise lifts them (and creases the forehead, drawn under the
        # hair), a furrow lowers and draws in the inner ends and creases the skin between them
        brow = max(2, round(self.unit * 0.12))
        for side in (-1, 1):
            inner = (side * (es - 0.15 + 0.07 * furrow), -0.36 - 0.2 * raise_ + 0.18 * furrow)
            outer = (side * (es + 0.17), -0.36 - 0.16 * raise_ - 0.05 * furrow)
            self._line(img, inner, outer, pose, look.hair, brow)
        if furrow > 0.2:
            for side in (-1, 1):
                self._line(
                    img, (side * 0.05, -0.36), (side * 0.07, -0.2), pose, self.skin_shadow, crease
                )
        # nose: a bright bridge and a shadowed tip
        self._line(img, (0.0, -0.12), (0.02, 0.2), pose, self.highlight, 2 * self.thick)
        self._line(img, (0.05, -0.02), (0.06, 0.22), pose, self.skin_dark, self.thick)
        self._ellipse(img, 0.0, 0.26, 0.1, 0.05, pose, self.skin_shadow)
        # mouth: corners move with the smile (up) or frown (down), the lips part with the opening
        # and with a broad smile, which shows the teeth
        cy = 0.52
        w = 0.3 + 0.14 * flush - 0.05 * max(-smile, 0.0)
        corner_y = cy - 0.22 * smile
        gap = 0.02 + 0.36 * mouth_open + 0.1 * flush
        upper = [(-w, corner_y), (0, cy - 0.05), (w, corner_y)]
        lower = [(w, corner_y), (0, cy + gap + 0.05), (-w, corner_y)]
        self._poly(img, upper + lower, pose, look.lips)
        if gap > 0.06:
            inner = [(-w * 0.85, corner_y), (0, cy), (w * 0.85, corner_y), (0, cy + gap)]
            self._poly(img, inner, pose, (60, 20, 25))
            if flush > 0.15:
                teeth = min(gap, 0.04 + 0.1 * flush)
                self._poly(
                    img,
                    [
                        (-w * 0.7, corner_y + 0.01),
                        (0, cy + 0.01),
                        (w * 0.7, corner_y + 0.01),
                        (0, cy + teeth),
                    ],
                    pose,
                    (240, 240, 235),
                )
        if self.occluder:
            self._draw_occluder(img, pose)
        return img

    def _draw_occluder(self, img: np.ndarray, pose: np.ndarray) -> None:
        if self.occluder == "hand":  # a hand over mouth and nose
            self._ellipse(img, 0.05, 0.42, 0.5, 0.3, pose, self.skin_dark, angle=-10)
            for i in range(4):
                self._line(
                    img, (-0.35 + 0.2 * i, 0.3), (-0.2 + 0.2 * i, 0.65), pose, self.skin_shadow, 1
                )
        elif self.occluder == "band":  # a dark band over the eyes
            self._poly(
                img,
                [(-0.95, -0.32), (0.95, -0.32), (0.95, 0.02), (-0.95, 0.02)],
                pose,
                (25, 25, 30),
            )
        else:  # a mug raised in front of the lower right face
            self._poly(img, [(0.0, 0.1), (0.75, 0.1), (0.7, 1.1), (0.05, 1.1)], pose, (200, 60, 50))

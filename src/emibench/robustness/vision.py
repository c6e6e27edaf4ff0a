"""Vision ops on one clip's face crops: uint8 (T, S, S, 3) RGB frames of the frames store.

Each op takes the frames (and a seeded generator where it draws) and returns the new frames with
the per-clip attributes that say what it touched. The crop was found on the clean video, so an
occluder leaves the crop where it was: the patch sits on a face the crop still centres on.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from emibench.robustness.spec import Blur, DropFrames, LowLight, Occlude

UPPER_SHARE = 0.55  # of the face box's height: the upper region's share


def share_count(n: int, share: float) -> int:
    """``share`` of ``n`` items, rounded half up (0.5 of 3 frames is 2), at most ``n``."""
    return min(n, math.floor(share * n + 0.5))


def pick(n: int, k: int, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``k`` of ``n`` items: one run at a seeded start (``block``) or a seeded
    subset (``random``)."""
    if k <= 0:
        return np.zeros(0, np.int64)
    if pattern == "block":
        start = int(rng.integers(0, n - k + 1))
        return np.arange(start, start + k)
    return np.sort(rng.choice(n, size=k, replace=False))


def face_region(size: int, box: float, region: str) -> tuple[slice, slice]:
    """``(rows, columns)`` of the ``region`` of the centred face box in a ``size`` x ``size`` crop.

    The face box is the centred square of side ``round(box * size)``. ``upper`` is its top
    :data:`UPPER_SHARE` (brows and eyes: in a Haar face box the eyes sit at about 40 % of its
    height), ``lower`` the rest (nose tip, mouth, chin), ``full`` all of it.
    """
    side = max(1, round(box * size))
    start = (size - side) // 2
    cut = start + round(UPPER_SHARE * side)
    rows = {
        "upper": slice(start, cut),
        "lower": slice(cut, start + side),
        "full": slice(start, start + side),
    }[region]
    return rows, slice(start, start + side)


def occlude(
    frames: np.ndarray, params: Occlude, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """A ``fill`` grey patch over the face region on ``share`` of the frames (frames (T, S, S, 3))."""
    n, size = len(frames), frames.shape[1]
    chosen = pick(n, share_count(n, params.share), params.pattern, rng)
    out = frames.copy()
    rows, cols = face_region(size, params.box, params.region)
    out[chosen, rows, cols] = params.fill
    flags = np.zeros(n, bool)
    flags[chosen] = True
    return out, {
        "occluded_frames": len(chosen),
        "occluded_share": len(chosen) / n if n else 0.0,
        "occlusion_region": params.region,
        "occluded": flags,
    }


def blur(frames: np.ndarray, params: Blur) -> tuple[np.ndarray, dict]:
    """Gaussian blur of every frame with sigma ``params.sigma`` x the crop side (pixels)."""
    sigma = params.sigma * frames.shape[1]
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        out[i] = cv2.GaussianBlur(
            frame, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT
        )
    return out, {"blurred_frames": len(frames), "blur_sigma_px": sigma}


def low_light(
    frames: np.ndarray, params: LowLight, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Every frame darkened by gain and gamma, plus Gaussian sensor noise, back to uint8."""
    levels = np.arange(256, dtype=np.float32) / 255.0
    curve = 255.0 * params.gain * levels**params.gamma  # (256,) the darkening as a lookup
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        dark = curve[frame]
        if params.noise_std:
            dark += params.noise_std * rng.standard_normal(frame.shape, dtype=np.float32)
        out[i] = np.clip(np.rint(dark), 0, 255).astype(np.uint8)
    return out, {"darkened_frames": len(frames)}


def drop_frames(n: int, params: DropFrames, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Sorted indices of the frames kept of ``n``: ``share`` dropped, one kept unless share is 1."""
    k = share_count(n, params.share)
    if params.share < 1:
        k = min(k, n - 1)
    dropped = pick(n, k, params.pattern, rng)
    keep = np.setdiff1d(np.arange(n), dropped)
    return keep, {"dropped_frames": len(dropped), "kept_frames": len(keep)}

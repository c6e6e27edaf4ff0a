"""Random generators of the corruptions, fixed by (robustness seed, condition, clip id, op).

Names enter the seed through SHA-256, not Python's ``hash`` (salted per process), so the same
inputs give the same bytes in every process and on every machine.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def clip_rng(seed: int, condition: str, clip_id: str, op_index: int) -> np.random.Generator:
    """The generator of op ``op_index`` of ``condition`` on one clip."""
    return np.random.default_rng([int(seed), _key(condition), _key(str(clip_id)), int(op_index)])

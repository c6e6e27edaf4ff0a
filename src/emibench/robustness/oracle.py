"""The synthetic set's oracle under a condition: what the clean latents allow once the condition
has removed information.

The generator shows each clip's latents ``z`` (6,) through three channels (docs/dataset.md),
read here without their noise (the view in which the clean oracle is ``z`` itself):

- V: six expression parameters ``EXPRESSION_MIX @ z`` (smile, brow raise, brow furrow, eye
  opening, mouth opening, head motion), constant over the clip apart from a ramp;
- A: seven prosody parameters ``PROSODY_MIX @ z``;
- T: the words, which name each present emotion and its intensity (the identity).

A condition removes rows of that system: ``remove_audio`` all of A, ``remove_text`` all of T,
``drop_frames`` with share 1 all of V, ``occlude`` with share 1 the expression rows under the patch
(:data:`HIDDEN_BY_REGION`); so do the clip's own nuisances (no audio track or silent: no A; an
empty transcript: no T; the generator's occluder: :data:`HIDDEN_BY_OCCLUDER`). Ops on a share of
frames below 1 remove nothing: the latents are the same in every frame, so one clean frame keeps
them. The oracle predicts the linear least-squares estimate of ``z`` from the rows left,

    z_hat = mu + S H' (H S H')^+ H (z - mu),

with ``mu`` and ``S`` the mean and covariance of the reference split's latents: ``z`` itself
when the rows left have rank 6 (any intact channel), ``mu`` when none is left. Degrading ops
(blur, low light, noise, ASR on noisy audio) keep the information in principle and lose an amount
that depends on the reader; the oracle of a condition with one is undefined (None), or, with
``degrading="upper_bound"``, the oracle of its removals alone (a valid but loose ceiling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emibench.data.synthetic.face import EXPRESSION_MIX
from emibench.data.synthetic.soundtrack import PROSODY_MIX
from emibench.emotions import EMOTIONS, format_id
from emibench.robustness.spec import DEGRADING_OPS, Condition

LATENT_COLUMNS = tuple(f"latent_{e}" for e in EMOTIONS)
# Expression rows (EXPRESSIONS order) a patch hides on every frame. Upper bounds: a row counts as
# hidden only when none of its cues stays visible (a smile also narrows the eyes and lifts the
# cheeks; head motion moves the head under a patch that stays put).
HIDDEN_BY_REGION = {"lower": (4,), "upper": (1, 2, 3), "full": (0, 1, 2, 3, 4)}
# The generator's occluders (synthetic/face.py): a hand over mouth and nose, a band over the eyes,
# a mug over the right half of the lower face (a symmetric smile stays visible).
HIDDEN_BY_OCCLUDER = {"hand": (4,), "band": (3,), "cup": ()}


@dataclass
class OracleResult:
    """predictions: index id, one column per emotion; channels: per clip, the rows left per
    channel (e.g. ``V5 A7 T0``); exact: False when degrading ops were ignored (upper bound)."""

    predictions: pd.DataFrame
    channels: pd.Series
    exact: bool


def _rows(clip: pd.Series, condition: Condition | None, modalities: str) -> tuple[np.ndarray, str]:
    """(k, 6) noise-free observation matrix of one clip under the condition, and its summary."""
    names = {op.name: op for op in condition.ops} if condition else {}
    visual = set(range(len(EXPRESSION_MIX)))
    visual -= set(HIDDEN_BY_OCCLUDER.get(str(clip.get("occluder", "") or ""), ()))
    occ = names.get("occlude")
    if occ is not None and occ.params.share >= 1:
        visual -= set(HIDDEN_BY_REGION[occ.params.region])
    drop = names.get("drop_frames")
    if "V" not in modalities or (drop is not None and drop.params.share >= 1):
        visual = set()
    has_audio = bool(clip.get("has_audio_track", True)) and not bool(clip.get("silent", False))
    audio = "A" in modalities and has_audio and "remove_audio" not in names
    transcript = clip.get("transcript", "")
    words = isinstance(transcript, str) and bool(transcript.strip())
    text = "T" in modalities and words and "remove_text" not in names
    blocks = [EXPRESSION_MIX[sorted(visual)]]
    blocks.append(PROSODY_MIX if audio else np.zeros((0, len(EMOTIONS))))
    blocks.append(np.eye(len(EMOTIONS)) if text else np.zeros((0, len(EMOTIONS))))
    summary = f"V{len(visual)} A{len(PROSODY_MIX) if audio else 0} T{len(EMOTIONS) if text else 0}"
    return np.vstack(blocks), summary


def _row_basis(h: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal rows spanning the row space of ``h`` (k, 6)."""
    _, sv, vt = np.linalg.svd(h, full_matrices=False)
    return vt[sv > tol * sv.max()]


def condition_oracle(
    latents: pd.DataFrame,
    condition: Condition | None,
    modalities: str = "VAT",
    degrading: str = "undefined",
    reference_split: str = "train",
) -> OracleResult | None:
    """Oracle predictions per clip of ``latents`` (the generator's latents.csv) under ``condition``
    (None: clean), for a system that reads ``modalities``; None when undefined (module doc)."""
    if degrading not in ("undefined", "upper_bound"):
        raise ValueError(f"degrading must be 'undefined' or 'upper_bound', got {degrading!r}")
    missing = [c for c in ("id", *LATENT_COLUMNS) if c not in latents.columns]
    if missing:
        raise KeyError(f"latents table: missing columns {missing}")
    degraded = condition is not None and any(op.name in DEGRADING_OPS for op in condition.ops)
    if degraded and degrading == "undefined":
        return None
    z = latents[list(LATENT_COLUMNS)].to_numpy(np.float64)
    ref = z
    if "split" in latents.columns and (latents["split"] == reference_split).any():
        ref = z[(latents["split"] == reference_split).to_numpy()]
    mu, cov = ref.mean(axis=0), np.cov(ref, rowvar=False)
    out = np.empty_like(z)
    channels = []
    for i, (_, clip) in enumerate(latents.iterrows()):
        h, summary = _rows(clip, condition, modalities)
        channels.append(summary)
        if len(h) == 0:
            out[i] = mu
            continue
        basis = _row_basis(h)  # (r, 6): the same estimate as from h, and H S H' invertible
        gain = cov @ basis.T @ np.linalg.inv(basis @ cov @ basis.T)
        out[i] = mu + gain @ basis @ (z[i] - mu)
    ids = latents["id"].map(format_id)
    return OracleResult(
        predictions=pd.DataFrame(out, index=pd.Index(ids, name="id"), columns=list(EMOTIONS)),
        channels=pd.Series(channels, index=pd.Index(ids, name="id"), name="channels"),
        exact=not degraded,
    )

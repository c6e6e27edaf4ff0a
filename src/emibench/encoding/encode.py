"""Batched encoding of many clips at once: frames, waves and texts -> per-clip feature tensors.

Each function concatenates the clips' rows (frames, audio windows, texts), runs the encoder in
batches of ``batch_size`` rows under ``autocast`` (bf16 on CUDA), and splits the outputs back per
clip. Gradients flow when the caller enables them (Stage I with unfrozen blocks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from emibench.devices import autocast
from emibench.encoders.audio import AudioEncoder
from emibench.encoders.text import TextEncoder
from emibench.encoders.vision import VisionEncoder


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


def encode_frames(
    encoder: VisionEncoder, clips: Sequence[np.ndarray], batch_size: int, precision: str = "auto"
) -> list[torch.Tensor]:
    """uint8 frames of each clip (T_i, S, S, 3) -> float32 features [(T_i, D)]."""
    device = _device(encoder)
    lengths = [len(c) for c in clips]
    if not sum(lengths):
        return [torch.zeros(0, encoder.dim, device=device) for _ in clips]
    rows = torch.from_numpy(np.concatenate([c for c in clips if len(c)]))
    outs = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size].to(device, non_blocking=True)
        with autocast(device, precision):
            outs.append(encoder(batch).float())
    return list(torch.cat(outs).split(lengths))


def encode_waves(
    encoder: AudioEncoder,
    clips: Sequence[np.ndarray],
    batch_size: int,
    window_s: float,
    precision: str = "auto",
) -> list[tuple[torch.Tensor, np.ndarray]]:
    """Mono waves (N_i,) at the encoder's rate -> [(features (T_a, D), frame centre times (T_a,) s)].

    A clip longer than ``window_s`` is cut into consecutive windows of that length (bounding memory
    on very long clips); the windows' frames are concatenated with their own times.
    """
    device = _device(encoder)
    window = max(round(window_s * encoder.sample_rate), encoder.receptive)
    pieces: list[tuple[int, int, np.ndarray]] = []
    for i, wave in enumerate(clips):
        for start in range(0, max(len(wave), 1), window):
            pieces.append((i, start, wave[start : start + window]))
    outs: list[torch.Tensor] = []
    for start in range(0, len(pieces), batch_size):
        chunk = [p[2] for p in pieces[start : start + batch_size]]
        with autocast(device, precision):
            outs.extend(o.float() for o in encoder(chunk))
    feats: list[list[torch.Tensor]] = [[] for _ in clips]
    times: list[list[np.ndarray]] = [[] for _ in clips]
    for (i, offset, piece), out in zip(pieces, outs):
        feats[i].append(out)
        times[i].append(encoder.frame_times(len(piece), offset / encoder.sample_rate))
    return [(torch.cat(f), np.concatenate(t)) for f, t in zip(feats, times)]


def encode_texts(
    encoder: TextEncoder, texts: Sequence[str], batch_size: int, precision: str = "auto"
) -> list[torch.Tensor]:
    """Texts -> token features [(L_i, D)] (unpadded; row 0 is the CLS token)."""
    device = _device(encoder)
    outs: list[torch.Tensor] = []
    for start in range(0, len(texts), batch_size):
        with autocast(device, precision):
            hidden, mask = encoder(texts[start : start + batch_size])
        hidden = hidden.float()
        outs.extend(h[m] for h, m in zip(hidden, mask))
    return outs

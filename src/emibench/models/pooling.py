"""Masked pooling over time: mean over valid steps, segment-wise means (DSCMN eq. 5), resampling."""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of (B, T, D) ``x`` over the steps where ``mask`` (B, T) is True -> (B, D); 0 if none."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def segment_weights(lengths: Tensor, n_segments: int, max_len: int) -> Tensor:
    """Averaging weights of M equal-length segments of each clip (eq. 5) -> (B, M, T).

    Segment ``m`` of a clip of length L covers steps ``[floor(mL/M), floor((m+1)L/M))``; when
    L < M a segment would be empty, so it takes the one step at ``floor(mL/M)`` instead (short
    clips repeat steps rather than leave holes). Rows sum to one; a clip with L = 0 gets all-zero
    rows. ``weights @ h`` (h: (B, T, D)) gives the segment means (B, M, D).
    """
    device = lengths.device
    m = torch.arange(n_segments, device=device).view(1, -1, 1)
    t = torch.arange(max_len, device=device).view(1, 1, -1)
    length = lengths.view(-1, 1, 1).long()
    start = (m * length) // n_segments
    end = torch.maximum(start + 1, ((m + 1) * length) // n_segments)
    inside = (t >= start) & (t < end) & (t < length)
    weights = inside.float()
    return weights / weights.sum(-1, keepdim=True).clamp_min(1.0)


def segment_pool(x: Tensor, mask: Tensor, n_segments: int) -> Tensor:
    """Segment-wise average pooling (eq. 5) of (B, T, D) ``x`` into (B, M, D)."""
    weights = segment_weights(mask.sum(1), n_segments, x.shape[1]).to(x.dtype)
    return weights @ x


def segment_means(x: Tensor, n_segments: int) -> Tensor:
    """Segment-wise average pooling (eq. 5) of one clip's (T, D) features, T >= 1 -> (M, D)."""
    if x.shape[0] < 1:
        raise ValueError("segment_means needs at least one step")
    mask = torch.ones(1, x.shape[0], dtype=torch.bool, device=x.device)
    return segment_pool(x[None], mask, n_segments)[0]


def resample_weights(
    src_lengths: Tensor, dst_lengths: Tensor, src_max: int, dst_max: int
) -> Tensor:
    """Nearest-step resampling of sequences of ``src_lengths`` onto ``dst_lengths`` -> (B, T_dst, T_src).

    Destination step ``t`` of a clip takes source step ``floor((t + 1/2) L_src / L_dst)``; rows of
    padded destination steps, and every row of a clip with L_src = 0, are zero.
    """
    device = src_lengths.device
    t = torch.arange(dst_max, device=device).view(1, -1)
    src_len = src_lengths.view(-1, 1).long()
    dst_len = dst_lengths.view(-1, 1).long().clamp_min(1)
    index = ((2 * t + 1) * src_len) // (2 * dst_len)
    valid = (t < dst_lengths.view(-1, 1)) & (src_len > 0)
    index = index.clamp(max=max(src_max - 1, 0))
    onehot = torch.nn.functional.one_hot(index, num_classes=max(src_max, 1)).float()
    return onehot * valid.unsqueeze(-1).float()

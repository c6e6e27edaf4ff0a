"""Masked pooling over time: mean over valid steps, segment-wise means (DSCMN eq. 5), resampling."""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of (B, T, D) ``x`` over the steps where ``mask`` (B, T) is True -> (B, D); 0 if none."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def interval_weights(
    src_lengths: Tensor, dst_lengths: Tensor, src_max: int, dst_max: int
) -> Tensor:
    """Averaging weights from source steps onto destination steps covering equal shares -> (B, T_dst, T_src).

    Destination step ``t`` of a clip covers source steps ``[floor(t L_src / L_dst),
    floor((t+1) L_src / L_dst))``: their mean where the source is the longer stream (50 Hz audio
    onto 5 fps frames), the one step at ``floor(t L_src / L_dst)`` where that range would be empty
    (a short source repeats steps). Rows sum to one; rows of padded destination steps, and every
    row of a clip with ``L_src = 0``, are zero.
    """
    device = src_lengths.device
    t = torch.arange(dst_max, device=device).view(1, -1, 1)
    s = torch.arange(src_max, device=device).view(1, 1, -1)
    src_len = src_lengths.view(-1, 1, 1).long()
    dst_len = dst_lengths.view(-1, 1, 1).long()
    start = (t * src_len) // dst_len.clamp_min(1)
    end = torch.maximum(start + 1, ((t + 1) * src_len) // dst_len.clamp_min(1))
    inside = (s >= start) & (s < end) & (s < src_len) & (t < dst_len)
    weights = inside.float()
    return weights / weights.sum(-1, keepdim=True).clamp_min(1.0)


def segment_weights(lengths: Tensor, n_segments: int, max_len: int) -> Tensor:
    """Averaging weights of M equal-length segments of each clip (eq. 5) -> (B, M, T).

    Segment ``m`` of a clip of length L covers steps ``[floor(mL/M), floor((m+1)L/M))``; when
    L < M a segment would be empty, so it takes the one step at ``floor(mL/M)`` instead (short
    clips repeat steps rather than leave holes). Rows sum to one; a clip with L = 0 gets all-zero
    rows. ``weights @ h`` (h: (B, T, D)) gives the segment means (B, M, D).
    """
    segments = torch.full_like(lengths, n_segments)
    return interval_weights(lengths, segments, max_len, n_segments)


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

"""Symmetric InfoNCE (paper eq. 1, both directions, as in CLIP)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity_logits(
    media: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Scaled cosine similarities: (N, P) and (N, P) -> (N, N), ``[i, j] = cos(m_i, t_j) / tau``.

    ``logit_scale`` is ``log(1 / tau)`` (a scalar).
    """
    media = F.normalize(media.float(), dim=-1)
    text = F.normalize(text.float(), dim=-1)
    return logit_scale.exp() * media @ text.t()


def info_nce(media: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Mean of the media->text (eq. 1) and text->media InfoNCE losses over a batch of N pairs.

    ``L_m2t = -1/N sum_i log( exp(s_ii / tau) / sum_j exp(s_ij / tau) )``, ``L_t2m`` the same over
    columns, with ``s`` the cosine similarity of L2-normalised embeddings; returns
    ``(L_m2t + L_t2m) / 2``.
    """
    logits = similarity_logits(media, text, logit_scale)
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))

"""Stage I networks: projection heads, a learnable temperature, and the video-level pooling.

A pair (vision-text or audio-text) maps a clip's media to a video-level embedding and its
transcript to a text embedding in a shared ``proj_dim`` space:

- media: the encoder's per-frame features (T, D_m) -> M segment means (eq. 5) -> the media head
  applied to each segment mean -> mean over segments -> (proj_dim,). For a linear head this is the
  head of the clip's segment-pooled feature ``f_v-bar`` of eq. 1.
- text: the text encoder's CLS vector (D_t,) -> the text head -> (proj_dim,).

Each head standardises its input with the per-dimension mean and standard deviation of the train
split (buffers set once before training, saved with the heads), so that the component every clip
shares, which dominates the features of a frozen encoder, does not swamp the contrastive signal.
A head that was never fitted passes its input through unchanged.

The temperature is learnt as ``logit_scale = log(1 / tau)``, initialised at ``1 / 0.07`` and
clamped to ``[0, log(max_logit_scale)]`` after each step, as CLIP does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emibench.scaling import near_constant, safe_scale
from emibench.stage1.loss import info_nce, similarity_logits

log = logging.getLogger(__name__)


class ProjectionHead(nn.Module):
    """(..., in_dim) -> (..., out_dim): input standardisation, then linear without bias
    (``hidden=0``, as CLIP) or Linear-GELU-Linear."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 0):
        super().__init__()
        self.in_dim, self.out_dim, self.hidden = int(in_dim), int(out_dim), int(hidden)
        self.register_buffer("shift", torch.zeros(self.in_dim))
        self.register_buffer("scale", torch.ones(self.in_dim))
        if hidden:
            self.net = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim)
            )
        else:
            self.net = nn.Linear(in_dim, out_dim, bias=False)

    @torch.no_grad()
    def fit_standardization(self, x: torch.Tensor, name: str = "input") -> None:
        """Set the input standardisation from samples (N, in_dim) of the train split (scales
        floored by ``emibench.scaling.safe_scale``); a warning in the log when the samples
        barely vary, or are all the same."""
        x = x.float().reshape(-1, self.in_dim)
        self.shift.copy_(x.mean(0))
        if not len(x):
            return
        std = x.std(0, unbiased=False).cpu().numpy()
        rms = float(x.pow(2).mean().sqrt())
        distinct = len(torch.unique(x, dim=0))
        if distinct == 1 or near_constant(std, rms):
            log.warning(
                "%s: %d distinct among %d train samples (median spread %.3g, magnitude %.3g): "
                "standardised with a floor, it carries little signal",
                name,
                distinct,
                len(x),
                float(np.median(std)),
                rms,
            )
        self.scale.copy_(torch.from_numpy(safe_scale(std, rms)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.shift) / self.scale)


class ContrastivePair(nn.Module):
    """Media and text heads with a learnable temperature (the trainable part of a Stage I pair)."""

    def __init__(
        self,
        media_dim: int,
        text_dim: int,
        proj_dim: int = 256,
        proj_hidden: int = 0,
        init_temperature: float = 0.07,
        max_logit_scale: float = 100.0,
    ):
        super().__init__()
        self.media_head = ProjectionHead(media_dim, proj_dim, proj_hidden)
        self.text_head = ProjectionHead(text_dim, proj_dim, proj_hidden)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))
        self.max_log_scale = math.log(max_logit_scale)

    def media_embedding(self, segments: Sequence[torch.Tensor]) -> torch.Tensor:
        """Each clip's segment means [(M_i, D_m)] -> video-level embeddings (B, proj_dim)."""
        counts = [len(s) for s in segments]
        projected = self.media_head(torch.cat(list(segments)).float())
        return torch.stack([p.mean(0) for p in projected.split(counts)])

    def text_embedding(self, cls: torch.Tensor) -> torch.Tensor:
        """CLS vectors (B, D_t) -> text embeddings (B, proj_dim)."""
        return self.text_head(cls.float())

    def loss(self, media: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE of (B, proj_dim) media and text embeddings."""
        return info_nce(media, text, self.logit_scale)

    def logits(self, media: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return similarity_logits(media, text, self.logit_scale)

    @torch.no_grad()
    def clamp_temperature(self) -> None:
        self.logit_scale.clamp_(0.0, self.max_log_scale)

    @property
    def temperature(self) -> float:
        return float(torch.exp(-self.logit_scale.detach()))

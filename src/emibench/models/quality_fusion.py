"""Quality-aware dynamic fusion of DSCMN (eqs. 7-8), and its "mean" ablation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from emibench.models.mlp import MLP

FUSION_MODES = ("quality", "mean")


class QualityFusion(nn.Module):
    """Fuse per-step modality features of one shared width into one sequence.

    ``quality``: q_m^t = MLP_m(h_m^t) (eq. 7), beta^t = softmax over the clip's present
    modalities of q^t (eq. 8), fused^t = sum_m beta_m^t h_m^t (the input of eq. 9).
    ``mean``: beta_m^t = 1 / (number of present modalities), no learned weights (ablation).
    An absent modality gets beta = 0; a clip with no modality present gets all-zero weights and a
    zero fused sequence (the model still predicts from it).
    """

    def __init__(
        self,
        modalities: tuple[str, ...],
        d_model: int,
        d_hidden: int,
        mode: str = "quality",
        dropout: float = 0.0,
    ):
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f"fusion {mode!r}: expected one of {FUSION_MODES}")
        self.modalities = tuple(modalities)
        self.mode = mode
        self.scorers = (
            nn.ModuleDict({m: MLP(d_model, d_hidden, 1, dropout) for m in self.modalities})
            if mode == "quality"
            else None
        )

    def weights(self, features: dict[str, Tensor], present: Tensor) -> Tensor:
        """features {m: (B, G, d)}, present (B, n_modalities) bool -> beta (B, G, n_modalities)."""
        some = present.any(-1).view(-1, 1, 1)
        avail = present.unsqueeze(1)
        if self.scorers is None:
            counts = avail.sum(-1, keepdim=True).clamp_min(1)
            grid = next(iter(features.values())).shape[1]
            return (avail.float() / counts).expand(-1, grid, -1)
        scores = torch.cat([self.scorers[m](features[m]) for m in self.modalities], dim=-1)
        scores = scores.masked_fill(~avail, float("-inf"))
        scores = torch.where(some, scores, torch.zeros_like(scores))
        return torch.softmax(scores, dim=-1) * some

    def forward(self, features: dict[str, Tensor], present: Tensor) -> tuple[Tensor, Tensor]:
        """-> fused (B, G, d) and beta (B, G, n_modalities)."""
        beta = self.weights(features, present)
        stacked = torch.stack([features[m] for m in self.modalities], dim=-1)
        return (stacked * beta.unsqueeze(2)).sum(-1), beta

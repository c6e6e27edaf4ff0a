"""The two-layer perceptron used for modality mappings (eq. 4) and quality scores (eq. 7)."""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """Linear -> GELU -> Dropout -> Linear, applied to the last axis: (..., d_in) -> (..., d_out)."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(d_hidden, d_out),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

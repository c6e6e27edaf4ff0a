"""Audio branch of DSCMN: a BiLSTM (eq. 3) with gated attention over [h; delta h] (eq. 6)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class GatedBiLSTM(nn.Module):
    """(B, T, d_in) -> (B, T, 2 * hidden): BiLSTM states h_t, gated as h_t * g_t.

    g_t = sigmoid(W_g [h_t; h_t - h_{t-1}]) (element-wise, eq. 6), with h_{-1} := h_0 so the first
    step's difference is zero. ``gate=False`` is the "no gated attention" ablation (h_t unchanged).
    Sequences are packed, so the backward direction starts at each clip's own last real step.
    """

    def __init__(
        self,
        d_in: int,
        hidden: int = 64,
        n_layers: int = 1,
        dropout: float = 0.0,
        gate: bool = True,
    ):
        super().__init__()
        self.lstm = nn.LSTM(
            d_in,
            hidden,
            num_layers=n_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.gate = nn.Linear(4 * hidden, 2 * hidden) if gate else None
        self.d_out = 2 * hidden

    def gate_values(self, h: Tensor) -> Tensor:
        """(B, T, 2H) BiLSTM states -> (B, T, 2H) gates in (0, 1) (eq. 6)."""
        delta = h - torch.cat([h[:, :1], h[:, :-1]], dim=1)
        return torch.sigmoid(self.gate(torch.cat([h, delta], dim=-1)))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, T, d_in), mask (B, T) bool -> (B, T, 2H), zero at padded steps."""
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        if self.gate is not None:
            h = h * self.gate_values(h)
        return h * mask.unsqueeze(-1).to(h.dtype)

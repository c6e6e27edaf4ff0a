"""Audio branch of DSCMN: a BiLSTM (eq. 3) with gated attention over [h; delta h] (eq. 6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class GatedBiLSTM(nn.Module):
    """(B, T, d_in) -> (B, T, 2 * hidden): BiLSTM states h_t, gated as h_t * g_t.

    g_t = sigmoid(W_g [h_t; h_t - h_{t-1}]) (element-wise, eq. 6), with h_{-1} := h_0 so the first
    step's difference is zero. ``gate=False`` is the "no gated attention" ablation (h_t unchanged).
    The backward direction starts at each clip's own last real step. On CUDA the sequences are
    packed (cuDNN runs them in one call); elsewhere each direction runs over the padded batch, the
    backward one on every clip reversed within its own length, the same math (on the CPU a packed
    batch's backward pass spends most of its time filling gradients of the steps it skips).
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
        lengths = mask.sum(1).clamp_min(1)
        h = self._packed(x, lengths) if x.is_cuda else self._unpacked(x, lengths)
        if self.gate is not None:
            h = h * self.gate_values(h)
        return h * mask.unsqueeze(-1).to(h.dtype)

    def _packed(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return h

    def _unpacked(self, x: Tensor, lengths: Tensor) -> Tensor:
        steps = torch.arange(x.shape[1], device=x.device)
        last = lengths.unsqueeze(1) - 1
        within = torch.where(steps <= last, last - steps, steps).unsqueeze(-1)

        def reverse(t: Tensor) -> Tensor:
            return t.gather(1, within.expand(-1, -1, t.shape[-1]))

        h = x
        for layer in range(self.lstm.num_layers):
            if layer:
                h = F.dropout(h, self.lstm.dropout, self.training)
            forward = self._direction(h, layer, "")
            backward = reverse(self._direction(reverse(h), layer, "_reverse"))
            h = torch.cat([forward, backward], dim=-1)
        return h

    def _direction(self, x: Tensor, layer: int, suffix: str) -> Tensor:
        """One direction of one layer of ``self.lstm`` over the padded batch, from zero states."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        weights = [getattr(self.lstm, f"{name}_l{layer}{suffix}") for name in names]
        zeros = x.new_zeros(1, x.shape[0], self.lstm.hidden_size)
        return torch.lstm(x, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True)[0]

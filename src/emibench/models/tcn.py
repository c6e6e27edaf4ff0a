"""Temporal Convolutional Network: stacked dilated causal 1-D convolutions with residuals (eq. 2).

The block follows Bai et al. (2018), the TCN the paper cites: two dilated causal convolutions
(ReLU, dropout) and a residual connection (a 1x1 convolution where the width changes). Block k has
dilation 2^k, so K blocks of kernel size k see ``1 + 2 (k - 1) (2^K - 1)`` steps back.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F


class CausalConv1d(nn.Conv1d):
    """A dilated 1-D convolution padded on the left only: output t sees inputs t - (k-1)d .. t."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int):
        super().__init__(c_in, c_out, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, T) -> (B, C_out, T)."""
        return super().forward(F.pad(x, (self.left_pad, 0)))


class TemporalBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.conv1 = CausalConv1d(c_in, c_out, kernel_size, dilation)
        self.conv2 = CausalConv1d(c_out, c_out, kernel_size, dilation)
        self.dropout = nn.Dropout(dropout)
        self.residual = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, T) -> (B, C_out, T)."""
        h = self.dropout(F.relu(self.conv1(x)))
        h = self.dropout(F.relu(self.conv2(h)))
        return F.relu(h + self.residual(x))


class TCN(nn.Module):
    """``n_layers`` residual blocks of dilations 1, 2, 4, ...: (B, T, d_in) -> (B, T, channels).

    Causal, so right-padding never leaks into a real step; padded inputs are zeroed anyway.
    """

    def __init__(
        self,
        d_in: int,
        channels: int = 64,
        n_layers: int = 4,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ):
        super().__init__()
        if n_layers < 1 or kernel_size < 1:
            raise ValueError(
                f"TCN needs n_layers >= 1 and kernel_size >= 1, got {n_layers}, {kernel_size}"
            )
        self.kernel_size = kernel_size
        self.n_layers = n_layers
        self.blocks = nn.Sequential(
            *(
                TemporalBlock(d_in if k == 0 else channels, channels, kernel_size, 2**k, dropout)
                for k in range(n_layers)
            )
        )

    @property
    def receptive_field(self) -> int:
        """How many input steps (the current one included) an output step depends on."""
        return 1 + 2 * (self.kernel_size - 1) * (2**self.n_layers - 1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """x (B, T, d_in), mask (B, T) bool -> (B, T, channels)."""
        if mask is not None:
            x = x * mask.unsqueeze(-1).to(x.dtype)
        return self.blocks(x.transpose(1, 2)).transpose(1, 2)

"""Clip-level peers from the ABAW EMI write-ups (docs/peers.md): pooled features into one MLP.

Both read ``ClipVectors``: each modality's frames pooled to one vector (text: its CLS vector),
concatenated with presence flags, then an MLP with one hidden layer to the six emotions.

- ``ConcatMLP``: feature-level concatenation of mean-pooled features into one shared six-output
  head (Linear-GELU-Dropout-Linear); the write-up trains it with MSE + Pearson and EMA (config).
- ``PooledMLP``: HSEmotion's per-modality mean and standard deviation over frames, concatenated,
  into a one-hidden-layer perceptron (Linear-ReLU-Dropout-Linear), trained with MSE.
"""

from __future__ import annotations

from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.models.clip_vectors import ClipVectors
from emibench.models.inputs import MODALITIES, Batch


def regression_head(width: int, hidden: int, dropout: float, activation: type[nn.Module]):
    """(B, width) -> Linear(hidden) -> activation -> Dropout -> Linear(6) -> (B, 6)."""
    return nn.Sequential(
        nn.Linear(width, hidden),
        activation(),
        nn.Dropout(dropout),
        nn.Linear(hidden, len(EMOTIONS)),
    )


class ConcatMLP(nn.Module):
    """forward(batch) -> {"pred": (B, 6)}: [mean V; flag; mean A; flag; CLS T; flag] -> MLP."""

    def __init__(
        self,
        dims: dict[str, int],
        modalities: tuple[str, ...] = MODALITIES,
        hidden: int = 512,
        dropout: float = 0.1,
        text_input: str = "cls",
    ):
        super().__init__()
        self.inputs = ClipVectors(dims, modalities, "mean", text_input)
        self.head = regression_head(self.inputs.width, hidden, dropout, nn.GELU)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        return {"pred": self.head(self.inputs(batch))}


class PooledMLP(nn.Module):
    """forward(batch) -> {"pred": (B, 6)}: [mean, std V; flag; mean, std A; flag; CLS T; flag] -> MLP."""

    def __init__(
        self,
        dims: dict[str, int],
        modalities: tuple[str, ...] = MODALITIES,
        hidden: int = 256,
        dropout: float = 0.0,
        text_input: str = "cls",
    ):
        super().__init__()
        self.inputs = ClipVectors(dims, modalities, "mean_std", text_input)
        self.head = regression_head(self.inputs.width, hidden, dropout, nn.ReLU)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        return {"pred": self.head(self.inputs(batch))}

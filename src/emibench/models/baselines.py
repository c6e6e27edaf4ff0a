"""The challenge baselines on the official features: ViT + GRU, and Wav2Vec2 + linear.

Both read one modality. A clip lacking it pools to a zero vector, so the model still predicts
(the output layer's bias, for the linear baseline).
"""

from __future__ import annotations

from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.models.inputs import Batch, Sequence
from emibench.models.pooling import masked_mean


def _only(batch: Batch, modality: str, model: str) -> Sequence:
    seq = batch.get(modality)
    if seq is None:
        raise ValueError(f"{model} reads modality {modality} but the batch carries none")
    return seq


class ViTGRU(nn.Module):
    """Visual frame features (B, T, D_v) -> GRU (3 layers, hidden 256) -> mean over real steps -> Linear 6."""

    modalities = ("V",)

    def __init__(
        self, dims: dict[str, int], hidden: int = 256, layers: int = 3, dropout: float = 0.0
    ):
        super().__init__()
        self.gru = nn.GRU(
            dims["V"],
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden, len(EMOTIONS))

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        seq = _only(batch, "V", "vit_gru")
        # one direction: padding after a clip's last step leaves its real steps' states unchanged
        h = self.gru(seq.data)[0]
        return {"pred": self.head(masked_mean(h, seq.mask))}


class W2VLinear(nn.Module):
    """Audio features (B, T, D_a) -> mean over real steps -> Linear 6."""

    modalities = ("A",)

    def __init__(self, dims: dict[str, int]):
        super().__init__()
        self.head = nn.Linear(dims["A"], len(EMOTIONS))

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        seq = _only(batch, "A", "w2v_linear")
        return {"pred": self.head(masked_mean(seq.data, seq.mask))}

"""Clip-level vectors of a batch: per-modality statistics over time, concatenated, with presence flags.

What the clip-level peers read instead of sequences. For each modality of the run:

- V, A: the mean of the clip's real steps, or its mean and standard deviation (``stats``)
- T: the text encoder's CLS vector (``text_input: cls``), or the token statistics (``tokens``)

then one flag, 1 where the clip has the modality. An absent modality (or clip) gives zeros and
flag 0, so every clip gets a vector of the same width and none is dropped.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from emibench.models.inputs import MODALITIES, Batch, Sequence
from emibench.models.pooling import masked_mean

STATS = ("mean", "mean_std")
TEXT_INPUTS = ("cls", "tokens")
STD_EPS = 1e-12  # keeps the gradient of the std finite where a clip's steps are all equal


def masked_mean_std(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of (B, T, D) ``x`` over the steps where ``mask`` (B, T) is
    True -> two (B, D); population std (about 0 for a clip of one step or none)."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean.unsqueeze(1)) ** 2, mask)
    return mean, torch.sqrt(var + STD_EPS)


class ClipVectors(nn.Module):
    """(B, width) clip vectors of the run's modalities; ``width`` = sum of each block's width + 1.

    No parameters: the standardised features (train/data.py) go through unchanged.
    """

    def __init__(
        self,
        dims: dict[str, int],
        modalities: tuple[str, ...] = MODALITIES,
        stats: str = "mean",
        text_input: str = "cls",
    ):
        super().__init__()
        if stats not in STATS:
            raise ValueError(f"stats {stats!r}: expected one of {STATS}")
        if text_input not in TEXT_INPUTS:
            raise ValueError(f"text_input {text_input!r}: expected one of {TEXT_INPUTS}")
        self.modalities = tuple(modalities)
        self.stats = stats
        self.text_input = text_input
        self.width = sum(self.block_width(m, dims[m]) + 1 for m in self.modalities)

    def block_width(self, modality: str, dim: int) -> int:
        if modality == "T" and self.text_input == "cls":
            return dim
        return dim * (2 if self.stats == "mean_std" else 1)

    def block(self, batch: Batch, modality: str) -> Tensor:
        """(B, block width + 1): the modality's statistics, then its presence flag."""
        seq: Sequence | None = batch.get(modality)
        if seq is None:
            raise ValueError(f"the model uses modality {modality} but the batch carries none")
        present = seq.present.to(seq.data.dtype).unsqueeze(-1)
        if modality == "T" and self.text_input == "cls":
            if batch.text_cls is None:
                raise ValueError("the model reads the text CLS vector but the batch carries none")
            parts = [batch.text_cls]
        elif self.stats == "mean_std":
            parts = list(masked_mean_std(seq.data, seq.mask))
        else:
            parts = [masked_mean(seq.data, seq.mask)]
        return torch.cat([p * present for p in parts] + [present], dim=-1)

    def forward(self, batch: Batch) -> Tensor:
        return torch.cat([self.block(batch, m) for m in self.modalities], dim=-1)

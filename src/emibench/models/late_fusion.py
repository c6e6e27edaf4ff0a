"""Late fusion: a small regressor over the predictions of modality-specific member runs.

Input per clip: each member's six predictions and whether the member had input, and which of the
system's modalities the clip has. A member is *available* for a clip when the clip has at least
one of the member's modalities; an unavailable member's predictions are replaced by zeros (its
flag says so). In training, modality dropout marks each modality of each clip absent with
probability ``modality_dropout``, independently, and members lose availability accordingly, so the
regressor learns to predict from whatever subset is left.

Two heads (``head``):

- ``weights`` (default): per emotion e, a softmax over the available members of learnt logits
  w_{j,e} weighs their predictions, ``pred_e = sum_j alpha_{j,e} p_{j,e}``; a clip with no
  available member gets a learnt constant. 7 M + 6 numbers at most; starts as the plain average.
- ``mlp``: ``[p_1 * a_1, ..., p_M * a_M, a_1..a_M]`` (B, 7M) -> Linear(hidden) -> GELU ->
  Dropout -> Linear(6) (hidden 0: one Linear layer), the write-up's small regressor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.models.inputs import parse_modalities

HEADS = ("weights", "mlp")


@dataclass
class MemberBatch:
    """A batch of clips for the late-fusion regressor.

    preds:   (B, M, 6) the member runs' predictions (raw outputs, not clipped)
    present: (B, K) bool, which of the system's K modalities each clip has
    labels:  (B, 6) targets, NaN where unknown (test)
    """

    ids: list[str]
    preds: Tensor
    present: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.ids)

    def to(self, device: torch.device) -> MemberBatch:
        return MemberBatch(
            self.ids, self.preds.to(device), self.present.to(device), self.labels.to(device)
        )


class LateFusionRegressor(nn.Module):
    """forward(MemberBatch) -> {"pred": (B, 6)}.

    ``members``: each member run's modalities ("V", "A", "T", or several, e.g. "VA"), all within
    the system's ``modalities``.
    """

    def __init__(
        self,
        members: tuple[str, ...],
        modalities: str = "VAT",
        head: str = "weights",
        hidden: int = 64,
        dropout: float = 0.1,
        modality_dropout: float = 0.1,
    ):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"late fusion head {head!r}: expected one of {HEADS}")
        self.modalities = parse_modalities(modalities)
        outside = [m for m in members if not set(parse_modalities(m)) <= set(self.modalities)]
        if outside:
            raise ValueError(
                f"late fusion over modalities {modalities!r}: member(s) using {outside} reach "
                "outside them"
            )
        self.modality_dropout = modality_dropout
        uses = torch.tensor(
            [[m in member for m in self.modalities] for member in members], dtype=torch.float32
        )
        self.register_buffer("uses", uses, persistent=False)  # (M, K)
        self.head_kind = head
        if head == "weights":
            self.logits = nn.Parameter(torch.zeros(len(members), len(EMOTIONS)))
            self.fallback = nn.Parameter(torch.zeros(len(EMOTIONS)))
            return
        width = len(members) * (len(EMOTIONS) + 1)
        if hidden > 0:
            self.head = nn.Sequential(
                nn.Linear(width, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, len(EMOTIONS)),
            )
        else:
            self.head = nn.Linear(width, len(EMOTIONS))

    def available(self, present: Tensor) -> Tensor:
        """(B, M) float: 1 where the member has at least one of its modalities (after dropout)."""
        if self.training and self.modality_dropout > 0:
            dropped = torch.rand(present.shape, device=present.device) < self.modality_dropout
            present = present & ~dropped
        return (present.float() @ self.uses.T > 0).float()

    def forward(self, batch: MemberBatch) -> dict[str, Tensor]:
        available = self.available(batch.present)
        if self.head_kind == "weights":
            mask = available.unsqueeze(-1) > 0  # (B, M, 1)
            logits = self.logits.unsqueeze(0).masked_fill(~mask, -1e9)
            alpha = torch.softmax(logits, dim=1) * mask  # (B, M, 6), 0 where none is available
            none = (~mask.any(1)).float()  # (B, 1)
            return {"pred": (alpha * batch.preds).sum(1) + none * self.fallback}
        preds = batch.preds * available.unsqueeze(-1)
        return {"pred": self.head(torch.cat([preds.flatten(1), available], dim=-1))}

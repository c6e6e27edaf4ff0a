"""What every Stage II model consumes: a padded batch of per-modality feature sequences.

Modalities are named by one letter, as in the variants: ``V`` (visual frame features), ``A``
(audio features on the visual time base) and ``T`` (text: token features plus the CLS vector).
A modality a clip lacks (broken media, empty transcript) or a run does not use is *absent*: its
``present`` flag is False and its mask has no valid step. Models never drop a clip for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

MODALITIES: tuple[str, ...] = ("V", "A", "T")
MODALITY_NAMES: dict[str, str] = {"V": "visual", "A": "audio", "T": "text"}


def parse_modalities(value: str) -> tuple[str, ...]:
    """``"VAT"`` -> ``("V", "A", "T")``; any non-empty subset of V, A, T, in that order."""
    letters = tuple(m for m in MODALITIES if m in value)
    if not value or len(letters) != len(value) or len(set(value)) != len(value):
        raise ValueError(f"modalities {value!r}: expected a non-empty subset of 'VAT', e.g. 'VA'")
    return letters


@dataclass
class Sequence:
    """One modality of a batch.

    data:    (B, T, D) float features, zero at padded steps (T >= 1 even if every clip lacks it)
    mask:    (B, T) bool, True at real steps; all False for an absent clip
    present: (B,) bool, False where the clip lacks this modality
    """

    data: Tensor
    mask: Tensor
    present: Tensor

    @property
    def lengths(self) -> Tensor:
        """(B,) number of real steps per clip."""
        return self.mask.sum(1)

    def to(self, device: torch.device) -> Sequence:
        return Sequence(self.data.to(device), self.mask.to(device), self.present.to(device))


@dataclass
class Batch:
    """A padded batch of clips.

    visual, audio: frame sequences on the visual time base (or None when the run does not use them)
    text:          token features (B, L, D_t) (or None)
    text_cls:      (B, D_t) the text encoder's CLS vector, zero for absent text (or None)
    labels:        (B, 6) targets in EMOTIONS order, NaN where unknown (test)
    """

    ids: list[str]
    visual: Sequence | None = None
    audio: Sequence | None = None
    text: Sequence | None = None
    text_cls: Tensor | None = None
    labels: Tensor | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, modality: str) -> Sequence | None:
        return {"V": self.visual, "A": self.audio, "T": self.text}[modality]

    def present(self, modality: str) -> Tensor:
        """(B,) bool: which clips have ``modality`` (all False when the batch lacks it)."""
        seq = self.get(modality)
        if seq is None:
            return torch.zeros(len(self), dtype=torch.bool, device=self.device)
        return seq.present

    @property
    def device(self) -> torch.device:
        for seq in (self.visual, self.audio, self.text):
            if seq is not None:
                return seq.data.device
        return self.labels.device if self.labels is not None else torch.device("cpu")

    def to(self, device: torch.device) -> Batch:
        move = lambda x: None if x is None else x.to(device)
        return Batch(
            ids=self.ids,
            visual=move(self.visual),
            audio=move(self.audio),
            text=move(self.text),
            text_cls=move(self.text_cls),
            labels=move(self.labels),
        )


def random_batch(
    lengths: dict[str, list[int]],
    dims: dict[str, int] | None = None,
    seed: int = 0,
) -> Batch:
    """A padded Batch of random features (tests and ``emibench bench train``): ``lengths[m][b]`` real steps of clip b (0 = absent).

    Text uses ``lengths["T"]`` for its tokens; its CLS vector is zero where the text is absent.
    """
    dims = dims or {"V": 12, "A": 10, "T": 8}
    g = torch.Generator().manual_seed(seed)
    n = len(next(iter(lengths.values())))
    seqs = {}
    for m, lens in lengths.items():
        lens_t = torch.tensor(lens)
        longest = max(1, max(lens))
        mask = torch.arange(longest)[None] < lens_t[:, None]
        data = torch.randn(n, longest, dims[m], generator=g) * mask[..., None]
        seqs[m] = Sequence(data, mask, lens_t > 0)
    text_cls = None
    if "T" in seqs:
        text_cls = torch.randn(n, dims["T"], generator=g) * seqs["T"].present[:, None]
    return Batch(
        ids=[f"{k:05d}" for k in range(n)],
        visual=seqs.get("V"),
        audio=seqs.get("A"),
        text=seqs.get("T"),
        text_cls=text_cls,
        labels=torch.rand(n, 6, generator=g),
    )

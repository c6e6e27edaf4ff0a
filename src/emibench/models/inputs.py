"""What every Stage II model consumes: a padded batch of per-modality inputs.

Modalities are named by one letter, as in the variants: ``V`` (visual frame features), ``A``
(audio features on the visual time base) and ``T`` (text: token features plus the CLS vector).
A model that encodes a modality itself, end to end (TAEMI's audio and text), reads it raw
instead: ``A`` as waves, ``T`` as token ids. A modality a clip lacks (broken media, empty
transcript) or a run does not use is *absent*: its ``present`` flag is False and its mask has no
valid step. Models never drop a clip for it.

A run's inputs come from stores named by a key: ``V``, ``A``, ``T`` for feature stores, and
``RAW_KEYS`` (``wave``: audio stores, ``text``: transcript tables) for raw inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from emibench.modalities import (  # noqa: F401 (the vocabulary, re-exported for the models)
    MODALITIES,
    MODALITY_NAMES,
    RAW_KEYS,
    STORE_KEYS,
    input_keys,
    parse_modalities,
)


@dataclass(frozen=True)
class RawInputs:
    """How raw media become batch inputs, for a model that encodes them itself.

    tokenizer:   text encoder whose tokenizer turns transcripts into token ids ("" = no raw text)
    max_tokens:  transcripts are truncated to this many tokens (special tokens included)
    sample_rate: rate the audio encoder expects (0 = no raw audio)
    max_audio_s: each clip's audio is cut to its first ``max_audio_s`` seconds
    """

    tokenizer: str = ""
    max_tokens: int = 128
    sample_rate: int = 0
    max_audio_s: float = 12.0

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities read raw: ``A`` with a sample rate, ``T`` with a tokenizer."""
        return tuple(
            m for m, on in (("A", self.sample_rate > 0), ("T", bool(self.tokenizer))) if on
        )


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
class Waves:
    """Raw mono audio of a batch (a model that encodes audio itself).

    data:    (B, N) float samples at the encoder's rate, zero after each clip's end
    lengths: (B,) long, true samples per clip (0 for an absent clip)
    present: (B,) bool, False where the clip lacks audio
    """

    data: Tensor
    lengths: Tensor
    present: Tensor

    def to(self, device: torch.device) -> Waves:
        return Waves(self.data.to(device), self.lengths.to(device), self.present.to(device))


@dataclass
class Tokens:
    """Token ids of the transcripts of a batch (a model that encodes text itself).

    ids:     (B, L) long, padded with the tokenizer's pad id; an absent text holds the
             tokenization of the empty string
    mask:    (B, L) bool, True at real tokens (special tokens included)
    present: (B,) bool, False where the clip has no transcript
    """

    ids: Tensor
    mask: Tensor
    present: Tensor

    def to(self, device: torch.device) -> Tokens:
        return Tokens(self.ids.to(device), self.mask.to(device), self.present.to(device))


@dataclass
class Batch:
    """A padded batch of clips.

    visual, audio: frame sequences on the visual time base (or None when the run does not use them)
    text:          token features (B, L, D_t) (or None)
    text_cls:      (B, D_t) the text encoder's CLS vector, zero for absent text (or None)
    wave, tokens:  raw audio and token ids, for a model that encodes A or T itself (or None)
    labels:        (B, 6) targets in EMOTIONS order, NaN where unknown (test)
    """

    ids: list[str]
    visual: Sequence | None = None
    audio: Sequence | None = None
    text: Sequence | None = None
    text_cls: Tensor | None = None
    labels: Tensor | None = None
    wave: Waves | None = None
    tokens: Tokens | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, modality: str) -> Sequence | None:
        return {"V": self.visual, "A": self.audio, "T": self.text}[modality]

    def present(self, modality: str) -> Tensor:
        """(B,) bool: which clips have ``modality``, as features or raw (all False when the
        batch lacks it)."""
        seq = self.get(modality) or {"A": self.wave, "T": self.tokens}.get(modality)
        if seq is None:
            return torch.zeros(len(self), dtype=torch.bool, device=self.device)
        return seq.present

    @property
    def device(self) -> torch.device:
        for seq in (self.visual, self.audio, self.text, self.wave, self.tokens):
            if seq is not None:
                return seq.present.device
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
            wave=move(self.wave),
            tokens=move(self.tokens),
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

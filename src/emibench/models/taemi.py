"""TAEMI (10th ABAW EMI winner): text-anchored dual cross-attention with missing-modality tokens.

text CLS (B, D_t) -> Linear -> query q (B, 1, h)
audio (B, T, D_a) -> Linear -> keys/values;  visual (B, T, D_v) -> Linear -> keys/values
attended_a = MHA(LN_q(q), LN_k(audio), audio, key padding mask);  attended_v likewise
[q; attended_a; attended_v] -> Linear(head_hidden) -> GELU -> Dropout -> Linear(6)

An absent input (empty transcript, failed audio or video) is replaced, after its projection, by
that modality's learnable missing token: the query becomes the text token; a sequence becomes a
single step holding the audio or visual token. In training each modality of each sample is also
replaced by its token with probability ``modality_dropout``. A modality the variant leaves out
has no branch (for T: a learnable query takes the text's place and is not concatenated; with T
alone there is nothing to attend over and the head reads the text vector only).
``missing_tokens=False`` (the ablation) puts fixed zeros where the learnable tokens would go.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.models.inputs import MODALITIES, Batch, Sequence


class TextAnchoredAttention(nn.Module):
    """One cross-attention of the text query over a frame sequence, LayerNorm on query and key."""

    def __init__(self, hidden: int, heads: int, attn_dropout: float):
        super().__init__()
        self.norm_q = nn.LayerNorm(hidden)
        self.norm_k = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=attn_dropout, batch_first=True)

    def forward(self, query: Tensor, seq: Tensor, mask: Tensor) -> Tensor:
        """query (B, 1, h), seq (B, T, h), mask (B, T) True = real step (>= 1 per row) -> (B, h)."""
        out, _ = self.attn(
            self.norm_q(query), self.norm_k(seq), seq, key_padding_mask=~mask, need_weights=False
        )
        return out[:, 0]


class TAEMI(nn.Module):
    """forward(batch) -> {"pred": (B, 6)}; see the module docstring."""

    def __init__(
        self,
        dims: dict[str, int],
        modalities: tuple[str, ...] = MODALITIES,
        hidden: int = 512,
        heads: int = 4,
        attn_dropout: float = 0.1,
        head_hidden: int = 512,
        dropout: float = 0.1,
        modality_dropout: float = 0.1,
        missing_tokens: bool = True,
    ):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"taemi hidden {hidden} is not divisible by heads {heads}")
        self.modalities = tuple(modalities)
        self.modality_dropout = modality_dropout
        self.proj = nn.ModuleDict({m: nn.Linear(dims[m], hidden) for m in self.modalities})
        self.missing = nn.ParameterDict(
            {
                m: nn.Parameter(torch.randn(hidden) * 0.02)
                if missing_tokens
                else nn.Parameter(torch.zeros(hidden), requires_grad=False)
                for m in self.modalities
            }
        )
        self.query = None if "T" in self.modalities else nn.Parameter(torch.randn(hidden) * 0.02)
        self.cross = nn.ModuleDict(
            {
                m: TextAnchoredAttention(hidden, heads, attn_dropout)
                for m in self.modalities
                if m != "T"
            }
        )
        self.head = nn.Sequential(
            nn.Linear(hidden * len(self.modalities), head_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, len(EMOTIONS)),
        )

    def _absent(self, present: Tensor) -> Tensor:
        """(B,) True where the modality is replaced by its token: missing, or dropped in training."""
        absent = ~present
        if self.training and self.modality_dropout > 0:
            absent = absent | (
                torch.rand(present.shape, device=present.device) < self.modality_dropout
            )
        return absent

    def text_query(self, batch: Batch) -> Tensor:
        """(B, hidden): the projected CLS, or the missing-text token where text is absent."""
        if self.query is not None:
            return self.query.expand(len(batch), -1)
        if batch.text_cls is None:
            raise ValueError("taemi uses text but the batch carries no text CLS vectors")
        absent = self._absent(batch.present("T")).unsqueeze(-1)
        return torch.where(
            absent, self.missing["T"].expand(len(batch), -1), self.proj["T"](batch.text_cls)
        )

    def frame_sequence(self, batch: Batch, modality: str) -> tuple[Tensor, Tensor]:
        """Projected (B, T, hidden) sequence and mask; absent rows hold the token at step 0 only."""
        seq: Sequence | None = batch.get(modality)
        if seq is None:
            raise ValueError(f"taemi uses modality {modality} but the batch carries none")
        x = self.proj[modality](seq.data)
        absent = self._absent(seq.present)
        first = torch.zeros_like(seq.mask)
        first[:, 0] = True
        token_rows = self.missing[modality].view(1, 1, -1) * first.unsqueeze(-1).to(x.dtype)
        x = torch.where(absent.view(-1, 1, 1), token_rows, x)
        mask = torch.where(absent.view(-1, 1), first, seq.mask)
        return x, mask

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        query = self.text_query(batch)
        parts = [query] if self.query is None else []
        for m in ("A", "V"):
            if m in self.modalities:
                x, mask = self.frame_sequence(batch, m)
                parts.append(self.cross[m](query.unsqueeze(1), x, mask))
        return {"pred": self.head(torch.cat(parts, dim=-1))}

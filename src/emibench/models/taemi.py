"""TAEMI (10th ABAW EMI winner): text-anchored dual cross-attention with missing-modality tokens.

Inputs, per clip (docs/models.md maps each to the authors' build):

    t (B, D_t)       the text encoder's first-token (CLS) embedding of the transcript
    a (B, T_a, D_a)  audio frames (the authors': Wav2Vec2 hidden state + its 3 regression outputs)
    v (B, T_v, D_v)  visual frame features (the authors': ViT-in21k on face crops)

    attended_a = CrossAttention(query t, keys/values a);  attended_v likewise
    [t; attended_a; attended_v] -> Linear(head_hidden) -> GELU -> Dropout -> Linear(6)

Two forms. End to end (``audio_encoder`` / ``text_encoder`` given): the model holds those
encoders, reads raw waves and token ids from the batch, and they train with it. On stored
features (the encoder left out): ``a`` is the batch's audio sequence, ``t`` its text CLS vector.

Missing-modality tokens live in each modality's *input* space (D_t, D_a, D_v): an absent input
(empty transcript, no audio, broken video) is replaced by its token before any projection: ``t``
becomes the text token; a sequence becomes one step holding the audio or visual token. In
training each modality of each sample is also replaced by its token with probability
``modality_dropout``. ``missing_tokens=False`` uses zero vectors instead of learnable tokens.

A modality the variant leaves out has no branch (without T a learnable query takes the text's
place and is not concatenated; with T alone the head reads ``t`` only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.modalities import ENCODER_OPTIONS
from emibench.models.inputs import MODALITIES, Batch, RawInputs


class CrossAttention(nn.Module):
    """The text query over a frame sequence, as the authors' ``CrossAttentionLayer``.

    q, k, v projected to ``hidden``; LayerNorm on the projected q and k; scaled dot-product
    attention over ``heads`` heads with dropout on the weights and a key padding mask; output
    projection.
    """

    def __init__(self, query_dim: int, kv_dim: int, hidden: int, heads: int, dropout: float):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"taemi hidden {hidden} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.q_proj = nn.Linear(query_dim, hidden)
        self.k_proj = nn.Linear(kv_dim, hidden)
        self.v_proj = nn.Linear(kv_dim, hidden)
        self.out_proj = nn.Linear(hidden, hidden)
        self.ln_q = nn.LayerNorm(hidden)
        self.ln_k = nn.LayerNorm(hidden)

    def forward(self, query: Tensor, seq: Tensor, mask: Tensor) -> Tensor:
        """query (B, D_q), seq (B, T, D_kv), mask (B, T) True = real step (>= 1 per row) -> (B, hidden)."""
        b, t, _ = seq.shape
        q = self.ln_q(self.q_proj(query)).view(b, 1, self.heads, -1).transpose(1, 2)
        k = self.ln_k(self.k_proj(seq)).view(b, t, self.heads, -1).transpose(1, 2)
        v = self.v_proj(seq).view(b, t, self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask[:, None, None, :],
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out_proj(out.transpose(1, 2).reshape(b, -1))


def _load_encoders(
    modalities: tuple[str, ...], audio: Mapping | None, text: Mapping | None
) -> dict[str, nn.Module]:
    from emibench.encoders.registry import load_audio, load_text

    encoders: dict[str, nn.Module] = {}
    if audio and "A" in modalities:
        encoders["A"] = load_audio(
            audio["name"], audio.get("layer", -1), "model.audio_encoder", head=True
        )
    if text and "T" in modalities:
        encoders["T"] = load_text(text["name"], text.get("max_length", 128), "model.text_encoder")
    return encoders


class TAEMI(nn.Module):
    """forward(batch) -> {"pred": (B, 6)}; see the module docstring.

    ``audio_encoder`` ({name, layer}: an emotion Wav2Vec2 with a regression head) and
    ``text_encoder`` ({name, max_length}) make the end-to-end form; ``max_audio_s`` is the audio
    cut the data applies for it. ``dims`` gives the widths of the stored features it reads.
    """

    # model options naming the encoder of a modality it encodes itself
    ENCODER_KEYS: ClassVar[dict[str, str]] = ENCODER_OPTIONS

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
        audio_encoder: dict | None = None,
        text_encoder: dict | None = None,
        max_audio_s: float = 12.0,
    ):
        super().__init__()
        self.modalities = tuple(modalities)
        self.modality_dropout = modality_dropout
        self.encoders = nn.ModuleDict(_load_encoders(self.modalities, audio_encoder, text_encoder))
        widths = {
            m: int(self.encoders[m].dim if m in self.encoders else dims[m]) for m in self.modalities
        }
        self.widths = widths
        if missing_tokens:
            self.missing = nn.ParameterDict(
                {m: nn.Parameter(torch.randn(w) * 0.02) for m, w in widths.items()}
            )
        else:
            self.missing = None
            for m, w in widths.items():
                self.register_buffer(f"zeros_{m}", torch.zeros(w), persistent=False)
        self.query = None if "T" in widths else nn.Parameter(torch.randn(hidden) * 0.02)
        query_dim = widths.get("T", hidden)
        self.cross = nn.ModuleDict(
            {
                m: CrossAttention(query_dim, widths[m], hidden, heads, attn_dropout)
                for m in self.modalities
                if m != "T"
            }
        )
        fused = widths.get("T", 0) + hidden * len(self.cross)
        self.head = nn.Sequential(
            nn.Linear(fused, head_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, len(EMOTIONS)),
        )

    @staticmethod
    def raw_inputs(config: Mapping[str, Any], modalities: tuple[str, ...]) -> RawInputs | None:
        """What the data must carry for the end-to-end form (None on stored features)."""
        audio = config.get("audio_encoder") if "A" in modalities else None
        text = config.get("text_encoder") if "T" in modalities else None
        if not audio and not text:
            return None
        rate = 0
        if audio:
            from emibench.encoders.registry import load_feature_extractor

            extractor = load_feature_extractor(audio["name"], "model.audio_encoder")
            rate = int(extractor.sampling_rate)
        return RawInputs(
            tokenizer=text["name"] if text else "",
            max_tokens=int(text.get("max_length", 128)) if text else 128,
            sample_rate=rate,
            max_audio_s=float(config.get("max_audio_s", 12.0)),
        )

    def token(self, modality: str) -> Tensor:
        """(D_m,) the missing token of a modality (zeros with ``missing_tokens=False``)."""
        if self.missing is None:
            return getattr(self, f"zeros_{modality}")
        return self.missing[modality]

    def _absent(self, present: Tensor) -> Tensor:
        """(B,) True where the modality is replaced by its token: missing, or dropped in training."""
        absent = ~present
        if self.training and self.modality_dropout > 0:
            absent = absent | (
                torch.rand(present.shape, device=present.device) < self.modality_dropout
            )
        return absent

    def text_vector(self, batch: Batch) -> Tensor:
        """(B, D_t) the text input ``t``: the encoder's CLS (end to end) or the stored CLS
        vector, the text token where the text is absent."""
        if "T" in self.encoders:
            if batch.tokens is None:
                raise ValueError("taemi encodes text end to end but the batch carries no tokens")
            tokens = batch.tokens
            t = self.encoders["T"].encode(tokens.ids, tokens.mask)[:, 0]
            present = tokens.present
        else:
            if batch.text_cls is None:
                raise ValueError("taemi uses text but the batch carries no text CLS vectors")
            t, present = batch.text_cls, batch.present("T")
        absent = self._absent(present).unsqueeze(-1)
        return torch.where(absent, self.token("T").to(t.dtype).expand_as(t), t)

    def _inputs(self, batch: Batch, modality: str) -> tuple[Tensor, Tensor, Tensor]:
        """(B, T, D) frames, (B, T) mask and (B,) presence, encoded here or stored."""
        if modality in self.encoders:
            if batch.wave is None:
                raise ValueError("taemi encodes audio end to end but the batch carries no waves")
            wave = batch.wave
            n = len(batch)
            if not wave.present.any():
                x = torch.zeros(n, 1, self.widths[modality], device=wave.data.device)
                return x, torch.ones(n, 1, dtype=torch.bool, device=x.device), wave.present
            if wave.present.all():
                x, mask = self.encoders[modality].encode(wave.data, wave.lengths)
                return x, mask, wave.present
            # only the clips with audio go through the encoder (frame_sequence puts the token in
            # the others' place): a batch where most clips lack audio costs what its clips with
            # audio cost
            rows = wave.present.nonzero().squeeze(1)
            lengths = wave.lengths[rows]
            kept, kept_mask = self.encoders[modality].encode(
                wave.data[rows, : int(lengths.max())], lengths
            )
            x = kept.new_zeros(n, *kept.shape[1:]).index_copy(0, rows, kept)
            mask = kept_mask.new_zeros(n, kept_mask.shape[1]).index_copy(0, rows, kept_mask)
            return x, mask, wave.present
        seq = batch.get(modality)
        if seq is None:
            raise ValueError(f"taemi uses modality {modality} but the batch carries none")
        return seq.data, seq.mask, seq.present

    def frame_sequence(self, batch: Batch, modality: str) -> tuple[Tensor, Tensor]:
        """(B, T, D_m) frames and mask; an absent row holds the token at step 0 only."""
        x, mask, present = self._inputs(batch, modality)
        absent = self._absent(present)
        first = torch.zeros_like(mask)
        first[:, 0] = True
        token_rows = self.token(modality).to(x.dtype).view(1, 1, -1) * first.unsqueeze(-1)
        x = torch.where(absent.view(-1, 1, 1), token_rows, x)
        return x, torch.where(absent.view(-1, 1), first, mask)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        parts = []
        if self.query is None:
            query = self.text_vector(batch)
            parts.append(query)
        else:
            query = self.query.expand(len(batch), -1)
        for m in ("A", "V"):
            if m in self.cross:
                x, mask = self.frame_sequence(batch, m)
                parts.append(self.cross[m](query, x, mask))
        return {"pred": self.head(torch.cat(parts, dim=-1))}

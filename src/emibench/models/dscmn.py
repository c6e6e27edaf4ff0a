"""DSCMN, the paper's Stage II (sections 3.3-3.6): frozen-encoder features in, six intensities out.

visual (B, T, D_v) -> TCN (eq. 2) -> segment means (eq. 5) -> MLP map (eq. 4) --\
audio  (B, T, D_a) -> BiLSTM (eq. 3) -> gate (eq. 6) -> onto the grid -> map ---+-> quality fusion
text   CLS (B, D_t) or token mean -> MLP map, repeated along the grid ---------/   (eqs. 7-8)
fused (B, G, d) + positions -> Transformer encoder -> pool -> Linear -> (B, 6)     (eq. 9)

The "grid" is the fused time axis (docs/models.md): ``time_base: segments`` puts every modality
on the same M segments (a segment covers the same share of the clip in every stream);
``time_base: frames`` keeps the visual frame rate, each frame carrying its segment's visual mean
(eq. 9 read literally, beta_v^t h_v^m) and the audio state of that frame.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from emibench.emotions import EMOTIONS
from emibench.models.gated_bilstm import GatedBiLSTM
from emibench.models.inputs import MODALITIES, Batch, Sequence
from emibench.models.mlp import MLP
from emibench.models.pooling import (
    interval_weights,
    masked_mean,
    resample_weights,
    segment_weights,
)
from emibench.models.quality_fusion import QualityFusion
from emibench.models.tcn import TCN

TIME_BASES = ("segments", "frames")
TEXT_INPUTS = ("cls", "tokens")
POOLS = ("mean", "cls")


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> Tensor:
    """(length, dim) fixed sine/cosine position codes (Vaswani et al.)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(pos * freq)
    codes[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return codes


class DSCMN(nn.Module):
    """The Dual-Stage Cross-Modal Network's Stage II over any subset of V, A, T.

    forward(batch) -> {"pred": (B, 6), "fusion_weights": (B, 3)} where fusion_weights holds
    beta_v, beta_a, beta_t averaged over the clip's grid steps (0 for an absent modality).
    """

    def __init__(
        self,
        dims: dict[str, int],
        modalities: tuple[str, ...] = MODALITIES,
        d_model: int = 256,
        mlp_hidden: int = 256,
        tcn_channels: int = 256,
        tcn_layers: int = 4,
        tcn_kernel: int = 3,
        lstm_hidden: int = 128,
        lstm_layers: int = 1,
        gate: bool = True,
        fusion: str = "quality",
        segments: int = 16,
        time_base: str = "segments",
        text_input: str = "cls",
        transformer_layers: int = 2,
        heads: int = 4,
        ff_dim: int = 512,
        pool: str = "mean",
        dropout: float = 0.1,
    ):
        super().__init__()
        for key, value, allowed in (
            ("time_base", time_base, TIME_BASES),
            ("text_input", text_input, TEXT_INPUTS),
            ("pool", pool, POOLS),
        ):
            if value not in allowed:
                raise ValueError(f"dscmn {key} {value!r}: expected one of {allowed}")
        if segments < 1 or d_model % 2 or d_model % heads:
            raise ValueError(
                f"dscmn needs segments >= 1 and d_model even and divisible by heads; got {segments}, {d_model}, {heads}"
            )
        self.modalities = tuple(modalities)
        self.segments = segments
        self.time_base = time_base
        self.text_input = text_input
        self.pool = pool
        if "V" in self.modalities:
            self.tcn = TCN(dims["V"], tcn_channels, tcn_layers, tcn_kernel, dropout)
            self.map_v = MLP(tcn_channels, mlp_hidden, d_model, dropout)
        if "A" in self.modalities:
            self.bilstm = GatedBiLSTM(dims["A"], lstm_hidden, lstm_layers, dropout, gate)
            self.map_a = MLP(self.bilstm.d_out, mlp_hidden, d_model, dropout)
        if "T" in self.modalities:
            self.map_t = MLP(dims["T"], mlp_hidden, d_model, dropout)
        self.fusion = QualityFusion(self.modalities, d_model, mlp_hidden, fusion, dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, ff_dim, dropout, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(
            layer, transformer_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pool == "cls" else None
        self.head = nn.Linear(d_model, len(EMOTIONS))

    def _sequence(self, batch: Batch, modality: str) -> Sequence:
        seq = batch.get(modality)
        if seq is None:
            raise ValueError(f"dscmn uses modality {modality} but the batch carries none")
        return seq

    def _grid(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(B,) grid length per clip and the (B, G) grid mask."""
        n = len(batch)
        device = batch.device
        if self.time_base == "segments":
            length = torch.full((n,), self.segments, device=device)
            return length, torch.ones(n, self.segments, dtype=torch.bool, device=device)
        length = torch.zeros(n, dtype=torch.long, device=device)
        for m in ("A", "V"):  # the visual clock wins where both exist
            if m in self.modalities:
                seq_len = self._sequence(batch, m).lengths
                length = torch.where(seq_len > 0, seq_len, length)
        length = length.clamp_min(1)
        grid = torch.arange(int(length.max()), device=device).unsqueeze(0) < length.unsqueeze(1)
        return length, grid

    def _visual(self, seq: Sequence, grid_len: Tensor, grid_max: int) -> Tensor:
        """TCN, segment means and mapping of the visual stream -> (B, G, d_model)."""
        h = self.tcn(seq.data, seq.mask)
        weights = segment_weights(seq.lengths, self.segments, h.shape[1])  # (B, M, T)
        segment_means = weights @ h
        if self.time_base == "frames":
            member = (weights > 0).float().transpose(1, 2)  # frame t -> the segment(s) holding it
            per_frame = (member / member.sum(-1, keepdim=True).clamp_min(1.0)) @ segment_means
            segment_means = (
                resample_weights(seq.lengths, grid_len, h.shape[1], grid_max) @ per_frame
            )
        return self.map_v(segment_means)

    def _audio(self, seq: Sequence, grid_len: Tensor, grid_max: int) -> Tensor:
        """BiLSTM, gate and mapping of the audio stream onto the grid -> (B, G, d_model).

        The audio runs at its own rate (the encoder's ~50 Hz frames, or pooled onto the 5 fps
        visual steps); each grid step averages the gated states of the same share of the clip.
        """
        h = self.bilstm(seq.data, seq.mask)
        if self.time_base == "segments":
            onto_grid = segment_weights(seq.lengths, self.segments, h.shape[1])
        else:
            onto_grid = interval_weights(seq.lengths, grid_len, h.shape[1], grid_max)
        return self.map_a(onto_grid @ h)

    def _text(self, batch: Batch) -> Tensor:
        """The text vector f_s mapped to the shared space -> (B, d_model)."""
        if self.text_input == "cls":
            if batch.text_cls is None:
                raise ValueError("dscmn text_input 'cls' needs the text CLS vectors in the batch")
            return self.map_t(batch.text_cls)
        seq = self._sequence(batch, "T")
        return self.map_t(masked_mean(seq.data, seq.mask))

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        grid_len, grid_mask = self._grid(batch)
        grid_max = grid_mask.shape[1]
        features: dict[str, Tensor] = {}
        if "V" in self.modalities:
            features["V"] = self._visual(self._sequence(batch, "V"), grid_len, grid_max)
        if "A" in self.modalities:
            features["A"] = self._audio(self._sequence(batch, "A"), grid_len, grid_max)
        if "T" in self.modalities:
            features["T"] = self._text(batch).unsqueeze(1).expand(-1, grid_max, -1)
        present = torch.stack([batch.present(m) for m in self.modalities], dim=-1)
        fused, beta = self.fusion(features, present)
        fused = fused + sinusoidal_positions(grid_max, fused.shape[-1], fused.device)
        mask = grid_mask
        if self.cls_token is not None:
            fused = torch.cat([self.cls_token.expand(len(batch), -1, -1), fused], dim=1)
            mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        encoded = self.transformer(fused, src_key_padding_mask=~mask)
        pooled = encoded[:, 0] if self.cls_token is not None else masked_mean(encoded, mask)
        weights = torch.zeros(len(batch), len(MODALITIES), device=fused.device)
        mean_beta = masked_mean(beta, grid_mask)
        for i, m in enumerate(self.modalities):
            weights[:, MODALITIES.index(m)] = mean_beta[:, i]
        return {"pred": self.head(pooled), "fusion_weights": weights}

"""The audio encoder: a transformers Wav2Vec2-family model with its feature extractor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emibench.encoders.vision import _check_tail


class AudioEncoder(nn.Module):
    """Hidden states of a Wav2Vec2-family model (Wav2Vec2, HuBERT, WavLM) on 16 kHz mono audio.

    ``layer`` picks the hidden state (-1: the last). Batches are padded with zeros; an attention
    mask is passed only when the feature extractor asks for one (``return_attention_mask``), as
    transformers documents for group-norm models such as wav2vec2-base. Outputs are trimmed to each
    input's own frame count.
    """

    def __init__(self, model: nn.Module, feature_extractor, name: str, layer: int = -1):
        super().__init__()
        if not hasattr(model, "_get_feat_extract_output_lengths") or not hasattr(model, "encoder"):
            raise TypeError(
                f"audio encoder {name!r}: expected a Wav2Vec2-family model, got {type(model).__name__}"
            )
        self.model = model
        self.feature_extractor = feature_extractor
        self.name = name
        self.layer = int(layer)
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.dim = int(model.config.hidden_size)
        self.hop = int(np.prod(model.config.conv_stride))
        self.receptive = self._receptive_field(model.config.conv_kernel, model.config.conv_stride)
        self.rate_hz = self.sample_rate / self.hop
        n = model.config.num_hidden_layers
        if not -n - 1 <= self.layer <= n:
            raise ValueError(f"audio encoder {name!r} has {n} layers; layer {layer} does not exist")

    @staticmethod
    def _receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> int:
        field, jump = 1, 1
        for k, s in zip(kernels, strides):
            field += (k - 1) * jump
            jump *= s
        return field

    @property
    def n_blocks(self) -> int:
        return len(self.model.encoder.layers)

    def tail_modules(self, k: int) -> list[nn.Module]:
        """The last ``k`` transformer layers (and the final norm of stable-layer-norm models)."""
        _check_tail(k, self.n_blocks, self.name)
        if not k:
            return []
        tail = list(self.model.encoder.layers[self.n_blocks - k :])
        if getattr(self.model.config, "do_stable_layer_norm", False):
            tail.append(self.model.encoder.layer_norm)
        return tail

    def n_frames(self, n_samples: int) -> int:
        """Output frames for ``n_samples`` input samples (inputs shorter than one window get 1)."""
        n = int(self.model._get_feat_extract_output_lengths(max(int(n_samples), self.receptive)))
        return max(n, 1)

    def frame_times(self, n_samples: int, offset_s: float = 0.0) -> np.ndarray:
        """Centre time in seconds of each output frame of an input starting at ``offset_s``."""
        k = np.arange(self.n_frames(n_samples))
        return offset_s + (k * self.hop + self.receptive / 2) / self.sample_rate

    def forward(self, waves: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """float32 mono waves at ``sample_rate`` (each (N_i,), N_i may differ) -> [(T_i, dim)]."""
        device = next(self.model.parameters()).device
        padded = [
            w if len(w) >= self.receptive else np.pad(w, (0, self.receptive - len(w)))
            for w in waves
        ]
        inputs = self.feature_extractor(
            [np.asarray(w, dtype=np.float32) for w in padded],
            sampling_rate=self.sample_rate,
            padding=True,
            return_tensors="pt",
        )
        kwargs = {"input_values": inputs["input_values"].to(device)}
        if (
            getattr(self.feature_extractor, "return_attention_mask", False)
            and "attention_mask" in inputs
        ):
            kwargs["attention_mask"] = inputs["attention_mask"].to(device)
        out = self.model(**kwargs, output_hidden_states=self.layer != -1)
        hidden = out.last_hidden_state if self.layer == -1 else out.hidden_states[self.layer]
        return [hidden[i, : self.n_frames(len(w))] for i, w in enumerate(waves)]

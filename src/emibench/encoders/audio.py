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

    With a ``head`` (the regression head of an emotion model, ``encoders.audio_emotion``), each
    frame's feature is its hidden state concatenated with the head's outputs on the last hidden
    state (``dim`` = hidden size + the head's outputs; 1024 + 3 for TAEMI's audeering model).

    Two entry points: ``forward`` takes a list of numpy waves and uses the feature extractor
    (feature stores, Stage I); ``encode`` takes a padded tensor batch and is differentiable
    (models that fine-tune the encoder end to end).
    """

    def __init__(
        self,
        model: nn.Module,
        feature_extractor,
        name: str,
        layer: int = -1,
        head: nn.Module | None = None,
    ):
        super().__init__()
        if not hasattr(model, "_get_feat_extract_output_lengths") or not hasattr(model, "encoder"):
            raise TypeError(
                f"audio encoder {name!r}: expected a Wav2Vec2-family model, got {type(model).__name__}"
            )
        self.model = model
        self.feature_extractor = feature_extractor
        self.name = name
        self.layer = int(layer)
        self.head = head
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.hidden_size = int(model.config.hidden_size)
        self.dim = self.hidden_size + (int(head.out_features) if head is not None else 0)
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
        hidden = self._features(self.model(**kwargs, output_hidden_states=self.layer != -1))
        return [hidden[i, : self.n_frames(len(w))] for i, w in enumerate(waves)]

    def _features(self, out) -> torch.Tensor:
        hidden = out.last_hidden_state if self.layer == -1 else out.hidden_states[self.layer]
        if self.head is None:
            return hidden
        return torch.cat([hidden, self.head(out.last_hidden_state)], dim=-1)

    def encode(
        self, waves: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero-padded waves (B, N) at ``sample_rate`` with true lengths (B,) samples ->
        features (B, T, dim) and their mask (B, T), True at each input's own frames.

        Each wave is normalised over its true samples as the feature extractor does
        (``do_normalize``: zero mean, unit variance, padding kept at zero); inputs shorter than
        one window are padded to it (an empty one gets a single frame).
        """
        n = max(waves.shape[1], self.receptive)
        x = nn.functional.pad(waves.float(), (0, n - waves.shape[1]))
        real = torch.arange(n, device=x.device)[None] < lengths[:, None]
        x = x * real
        if getattr(self.feature_extractor, "do_normalize", False):
            count = lengths.clamp(min=1)[:, None].to(x.dtype)
            mean = x.sum(1, keepdim=True) / count
            var = ((x - mean).square() * real).sum(1, keepdim=True) / count
            x = torch.where(real, (x - mean) / torch.sqrt(var + 1e-7), torch.zeros_like(x))
        kwargs = {"input_values": x}
        if getattr(self.feature_extractor, "return_attention_mask", False):
            kwargs["attention_mask"] = real.long()
        hidden = self._features(self.model(**kwargs, output_hidden_states=self.layer != -1))
        frames = self.model._get_feat_extract_output_lengths(lengths.clamp(min=self.receptive))
        mask = torch.arange(hidden.shape[1], device=x.device)[None] < frames[:, None]
        return hidden, mask

"""The architecture of ``audeering/wav2vec2-large-robust-12-ft-emotion-msp-dim`` (TAEMI's audio).

That checkpoint is a ``Wav2Vec2Model`` (weights under ``wav2vec2.``) with the regression head of
its model card (weights under ``classifier.``): dropout, ``dense`` (H -> H), tanh, dropout,
``out_proj`` (H -> 3: arousal, dominance, valence). Its ``config.json`` names the model card's
own class (``Wav2Vec2ForSpeechClassification``), which transformers does not ship, so the class
is defined here; ``from_pretrained`` reads the published files (and the tiny demo copy that
``emibench make-tiny-models`` writes in the same format) by their key names.

Kept apart from ``encoders.audio`` because defining it imports transformers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from transformers.models.wav2vec2.modeling_wav2vec2 import (
    Wav2Vec2Model,
    Wav2Vec2PreTrainedModel,
)

# what the published config.json declares (the model card's class name)
PUBLISHED_ARCHITECTURE = "Wav2Vec2ForSpeechClassification"
EMOTION_LABELS = ("arousal", "dominance", "valence")


class RegressionHead(nn.Module):
    """The model card's head: (..., H) -> (..., num_labels)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.final_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    @property
    def out_features(self) -> int:
        return self.out_proj.out_features

    def forward(self, features: Tensor) -> Tensor:
        x = self.dropout(features)
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


class Wav2Vec2EmotionModel(Wav2Vec2PreTrainedModel):
    """``wav2vec2`` + ``classifier``: the published checkpoint's modules under their key names."""

    def __init__(self, config):
        super().__init__(config)
        self.wav2vec2 = Wav2Vec2Model(config)
        self.classifier = RegressionHead(config)
        self.post_init()

    def forward(
        self, input_values: Tensor, attention_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """(B, N) samples -> last hidden state (B, T, H) and per-frame outputs (B, T, 3)."""
        hidden = self.wav2vec2(input_values, attention_mask=attention_mask)[0]
        return hidden, self.classifier(hidden)

"""The text encoder: a transformers BERT-family model with its tokenizer; CLS and token outputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from emibench.encoders.vision import _check_tail


class TextEncoder(nn.Module):
    """Token features (last hidden state) and the CLS vector of a BERT-family encoder.

    BERT, MiniLM and DistilBERT (TAEMI's text encoder, whose layers sit under ``transformer``).
    """

    def __init__(self, model: nn.Module, tokenizer, name: str, max_length: int = 128):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.max_length = int(max_length)
        self.dim = int(model.config.hidden_size)

    def _layers(self) -> nn.ModuleList:
        encoder = getattr(self.model, "encoder", None) or getattr(self.model, "transformer", None)
        layers = getattr(encoder, "layer", None) or getattr(encoder, "layers", None)
        if layers is None:
            raise TypeError(f"text encoder {self.name!r}: cannot find its transformer layers")
        return layers

    @property
    def n_blocks(self) -> int:
        return len(self._layers())

    def tail_modules(self, k: int) -> list[nn.Module]:
        """The last ``k`` transformer layers."""
        _check_tail(k, self.n_blocks, self.name)
        layers = self._layers()
        return list(layers[len(layers) - k :]) if k else []

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """B strings -> token features (B, L, dim) and attention mask (B, L) bool.

        Position 0 is the CLS token. Texts longer than ``max_length`` tokens are truncated.
        """
        device = next(self.model.parameters()).device
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        return self.encode(ids, mask), mask.bool()

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids (B, L) and their mask (B, L) -> last hidden state (B, L, dim); row 0 = CLS."""
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask.long()
        ).last_hidden_state

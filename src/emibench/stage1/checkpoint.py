"""Stage I checkpoints: what was trained (heads, temperature, unfrozen encoder blocks) and from what.

The file (``torch.save`` of a dict of tensors and plain types, so it loads with
``weights_only=True``: see ``emibench.tensor_files``) holds the encoder specs (so the frozen
weights are reloaded through the registry, not copied), ``train_layers``, the head config, the
pair's state, the state of the encoders' trainable parameters only, and the per-epoch history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from emibench.encoders.registry import load_encoder
from emibench.stage1.model import ContrastivePair
from emibench.tensor_files import load_plain, plain

FORMAT = "emibench-stage1/1"


def freeze_except_tail(encoder: torch.nn.Module, k: int) -> list[torch.nn.Parameter]:
    """Freeze every parameter of ``encoder`` but those of its last ``k`` blocks; returns those."""
    for p in encoder.parameters():
        p.requires_grad_(False)
    params = [p for module in encoder.tail_modules(k) for p in module.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def trainable_state(encoder: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state of the parameters that require gradients (the unfrozen tail)."""
    return {
        name: p.detach().cpu().clone() for name, p in encoder.named_parameters() if p.requires_grad
    }


def save_checkpoint(path: str | Path, **content: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    torch.save(plain({"format": FORMAT, **content}), tmp)
    tmp.replace(path)


@dataclass
class Stage1Encoders:
    """A trained pair, ready to encode: its media and text encoders (with trained blocks) and heads."""

    pair_name: str
    media_encoder: torch.nn.Module
    text_encoder: torch.nn.Module
    pair: ContrastivePair
    path: str

    def label(self, side: str) -> str:
        encoder = self.media_encoder if side == "media" else self.text_encoder
        return f"stage1 {self.pair_name} {encoder.name} + {side} head ({self.path})"


def _load_tail(encoder: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    if not state:
        return
    result = encoder.load_state_dict(dict(state), strict=False)
    if result.unexpected_keys:
        raise KeyError(
            f"{path}: encoder state has keys the encoder lacks: {result.unexpected_keys[:5]}"
        )


def load_stage1(path: str | Path, device: torch.device | str = "cpu") -> Stage1Encoders:
    """Rebuild a Stage I pair from its checkpoint (encoders via the registry, then trained state)."""
    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"Stage I checkpoint not found: {path}")
    ckpt = load_plain(path)
    found = ckpt.get("format") if isinstance(ckpt, dict) else None
    if found != FORMAT:
        raise ValueError(
            f"{path}: not a Stage I checkpoint (format {found!r}, expected {FORMAT!r})"
        )
    media = load_encoder(ckpt["media_kind"], ckpt["encoders"]["media"], "checkpoint media encoder")
    text = load_encoder("text", ckpt["encoders"]["text"], "checkpoint text encoder")
    _load_tail(media, ckpt["encoder_state"]["media"], path)
    _load_tail(text, ckpt["encoder_state"]["text"], path)
    pair = ContrastivePair(media.dim, text.dim, **ckpt["head"])
    pair.load_state_dict(ckpt["pair_state"])
    for module in (media, text, pair):
        module.to(device).eval().requires_grad_(False)
    return Stage1Encoders(ckpt["pair"], media, text, pair, path)

"""Stage I checkpoints: what was trained (heads, temperatures, unfrozen encoder blocks) and from what.

The file (``torch.save`` of a dict of tensors and plain types, so it loads with
``weights_only=True``: see ``emibench.tensor_files``) holds the objective and its pairs, the
encoder specs per modality (``visual``, ``audio``, ``text``; the frozen weights are reloaded
through the registry, not copied), ``train_layers``, the head config, each pair's state (media
head, text head, temperature), the state of the encoders' trainable parameters only, and the
per-epoch history. A ``joint`` checkpoint holds all three encoders and both pairs; a pair's
checkpoint its two encoders and its pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from emibench.encoders.registry import load_encoder
from emibench.stage1.data import ENCODER_KIND, PAIRS
from emibench.stage1.model import ContrastivePair, ProjectionHead
from emibench.tensor_files import load_plain, plain

PAIR_OF = {modality: pair for pair, modality in PAIRS.items()}

FORMAT = "emibench-stage1/2"


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
class Stage1Model:
    """A trained Stage I model, ready to encode: its encoders (with their trained blocks) by
    modality, its pairs' heads, and the pair whose text head serves the text features."""

    objective: str
    encoders: dict[str, torch.nn.Module]
    pairs: dict[str, ContrastivePair]
    text_pair: str
    path: str

    def head(self, modality: str) -> ProjectionHead:
        """The projection head that maps ``modality``'s encoder outputs into the shared space."""
        if modality == "text":
            return self.pairs[self.text_pair].text_head
        return self.pairs[PAIR_OF[modality]].media_head

    def label(self, modality: str, output: str, encoder: str = "") -> str:
        """What makes ``modality``'s store; ``encoder``: the encoder's name where it is not
        loaded (heads only)."""
        encoder = encoder or self.encoders[modality].name
        what = encoder if output == "encoder" else f"{encoder} + {self.head_name(modality)}"
        return f"stage1 {self.objective} {what} ({self.path})"

    def head_name(self, modality: str) -> str:
        if modality == "text":
            return f"{self.text_pair} text head"
        return f"{PAIR_OF[modality]} media head"


def _load_tail(encoder: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    if not state:
        return
    result = encoder.load_state_dict(dict(state), strict=False)
    if result.unexpected_keys:
        raise KeyError(
            f"{path}: encoder state has keys the encoder lacks: {result.unexpected_keys[:5]}"
        )


def load_stage1(
    path: str | Path, device: torch.device | str = "cpu", with_encoders: bool = True
) -> Stage1Model:
    """Rebuild a Stage I model from its checkpoint (encoders via the registry, then trained state);
    ``with_encoders=False``: the heads alone."""
    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"Stage I checkpoint not found: {path}")
    ckpt = load_plain(path)
    found = ckpt.get("format") if isinstance(ckpt, dict) else None
    if found != FORMAT:
        raise ValueError(
            f"{path}: not a Stage I checkpoint of this version (format {found!r}, expected "
            f"{FORMAT!r}); run Stage I again"
        )
    encoders = {}
    for modality, spec in ckpt["encoders"].items() if with_encoders else ():
        encoder = load_encoder(ENCODER_KIND[modality], spec, f"checkpoint {modality} encoder")
        _load_tail(encoder, ckpt["encoder_state"][modality], path)
        encoders[modality] = encoder.to(device).eval().requires_grad_(False)
    pairs = {}
    for name, state in ckpt["pair_state"].items():
        dims = (int(state["media_head.shift"].numel()), int(state["text_head.shift"].numel()))
        pair = ContrastivePair(*dims, **ckpt["head"])
        pair.load_state_dict(state)
        pairs[name] = pair.to(device).eval().requires_grad_(False)
    text_pair = ckpt["settings"]["text_pair"] if len(pairs) > 1 else next(iter(pairs))
    return Stage1Model(ckpt["objective"], encoders, pairs, text_pair, path)

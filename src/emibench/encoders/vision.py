"""The vision encoder: an open_clip ViT image tower with its preprocessing, on uint8 frames."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class VisionEncoder(nn.Module):
    """Per-frame features of an open_clip ViT image tower.

    The features are the tower's pooled output *before* CLIP's image projection (the class token
    after ``ln_post``: 768-d for ViT-B/16, as in section 3.1 of the paper). CLIP's projection maps
    into CLIP's own text space, which Stage I does not use (its text side is BERT).

    Preprocessing follows the model's open_clip preprocess config (resize of the shortest side to
    ``image_size``, centre crop, mean/std normalisation), done on tensors on the model's device.
    """

    def __init__(self, visual: nn.Module, mean: Sequence[float], std: Sequence[float], name: str):
        super().__init__()
        if not hasattr(visual, "transformer") or not hasattr(visual.transformer, "resblocks"):
            raise TypeError(
                f"vision encoder {name!r}: only open_clip VisionTransformer towers are supported, "
                f"got {type(visual).__name__}"
            )
        visual.proj = None
        self.visual = visual
        self.name = name
        size = visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.dim = int(visual.ln_post.normalized_shape[0])
        _register_normalisation(self, mean, std)

    @property
    def n_blocks(self) -> int:
        return len(self.visual.transformer.resblocks)

    def tail_modules(self, k: int) -> list[nn.Module]:
        """The last ``k`` transformer blocks and the final norm (what Stage I unfreezes)."""
        _check_tail(k, self.n_blocks, self.name)
        return (
            [*self.visual.transformer.resblocks[self.n_blocks - k :], self.visual.ln_post]
            if k
            else []
        )

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) RGB -> normalised float (B, 3, S, S), S = ``image_size``."""
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        h, w = x.shape[-2:]
        if (h, w) != (self.image_size, self.image_size):
            scale = self.image_size / min(h, w)
            new = (max(self.image_size, round(h * scale)), max(self.image_size, round(w * scale)))
            x = F.interpolate(
                x, size=new, mode="bicubic", align_corners=False, antialias=True
            ).clamp_(0, 1)
            top = (new[0] - self.image_size) // 2
            left = (new[1] - self.image_size) // 2
            x = x[..., top : top + self.image_size, left : left + self.image_size]
        return (x - self.mean) / self.std

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) RGB frames -> (B, dim) features."""
        return self.visual(self.preprocess(frames))


def _register_normalisation(module: nn.Module, mean, std) -> None:
    """Per-channel ``mean`` and ``std`` buffers (1, 3, 1, 1), not saved with the weights."""
    for name, values in (("mean", mean), ("std", std)):
        buffer = torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1)
        module.register_buffer(name, buffer, persistent=False)


def _check_tail(k: int, n: int, name: str) -> None:
    if not 0 <= k <= n:
        raise ValueError(f"{name!r} has {n} blocks; cannot train the last {k}")


class ViTEncoder(nn.Module):
    """Per-frame features of a transformers ViT (``ViTModel``, e.g. google/vit-base-patch16-224-in21k).

    The feature is the mean of the last hidden state (after the final LayerNorm) over the class
    and patch tokens, as TAEMI's authors pool it. Preprocessing follows the model's image
    processor, on tensors on the model's device: resize to ``image_size`` (bilinear,
    antialiased), rescale to [0, 1], mean/std normalisation.
    """

    def __init__(
        self,
        model: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        image_size: int,
        name: str,
    ):
        super().__init__()
        if vit_layers(model) is None or not hasattr(model, "layernorm"):
            raise TypeError(
                f"vision encoder {name!r}: expected a transformers ViT model, "
                f"got {type(model).__name__}"
            )
        self.model = model
        self.name = name
        self.image_size = int(image_size)
        self.dim = int(model.config.hidden_size)
        _register_normalisation(self, mean, std)

    @property
    def n_blocks(self) -> int:
        return len(vit_layers(self.model))

    def tail_modules(self, k: int) -> list[nn.Module]:
        """The last ``k`` transformer layers and the final LayerNorm."""
        _check_tail(k, self.n_blocks, self.name)
        layers = vit_layers(self.model)
        return [*layers[self.n_blocks - k :], self.model.layernorm] if k else []

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) RGB -> normalised float (B, 3, S, S), S = ``image_size``."""
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-2:] != (self.image_size, self.image_size):
            size = (self.image_size, self.image_size)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) RGB frames -> (B, dim) features."""
        return self.model(pixel_values=self.preprocess(frames)).last_hidden_state.mean(1)


def vit_layers(model: nn.Module) -> nn.ModuleList | None:
    """A transformers ViT's layers (``layers`` in transformers 5, ``encoder.layer`` before)."""
    layers = getattr(model, "layers", None)
    if layers is None:
        layers = getattr(getattr(model, "encoder", None), "layer", None)
    return layers if isinstance(layers, nn.ModuleList) else None

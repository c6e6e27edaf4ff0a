"""Build any Stage II model from its config dict: ``{"name": "dscmn", "d_model": 64, ...}``."""

from __future__ import annotations

import inspect

from torch import nn

from emibench.models.baselines import ViTGRU, W2VLinear
from emibench.models.dscmn import DSCMN
from emibench.models.inputs import parse_modalities
from emibench.models.taemi import TAEMI

MODELS: dict[str, type[nn.Module]] = {
    "dscmn": DSCMN,
    "taemi": TAEMI,
    "vit_gru": ViTGRU,
    "w2v_linear": W2VLinear,
}


def model_options(name: str) -> dict[str, object]:
    """The config keys a model takes, with their defaults (``dims`` and ``modalities`` excluded)."""
    if name not in MODELS:
        raise KeyError(f"model name {name!r}: expected one of {sorted(MODELS)}")
    params = inspect.signature(MODELS[name].__init__).parameters
    return {k: p.default for k, p in params.items() if k not in ("self", "dims", "modalities")}


def build_model(config: dict, dims: dict[str, int], modalities: str) -> nn.Module:
    """A model from ``config`` (``name`` plus its options) for feature widths ``dims`` {V, A, T}.

    ``modalities`` ("VAT", "V", ...) is the run's subset; a single-modality baseline accepts only
    its own. Unknown keys and missing widths are errors naming the key.
    """
    config = dict(config)
    name = config.pop("name", None)
    if name is None:
        raise KeyError(f"model config {config} has no 'name' (one of {sorted(MODELS)})")
    options = model_options(name)
    unknown = sorted(set(config) - set(options))
    if unknown:
        raise KeyError(
            f"model {name!r}: unknown config key(s) {unknown}; it takes {sorted(options)}"
        )
    letters = parse_modalities(modalities)
    fixed = getattr(MODELS[name], "modalities", None)
    if isinstance(fixed, tuple) and fixed != letters:
        raise ValueError(
            f"model {name!r} reads modalities {''.join(fixed)!r}, the run asks for {modalities!r}"
        )
    absent = [m for m in letters if m not in dims]
    if absent:
        raise KeyError(f"model {name!r}: no feature width for modality {absent} (dims {dims})")
    kwargs = dict(config)
    if "modalities" in inspect.signature(MODELS[name].__init__).parameters:
        kwargs["modalities"] = letters
    return MODELS[name](dims=dims, **kwargs)

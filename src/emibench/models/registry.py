"""Build any Stage II model from its config dict: ``{"name": "dscmn", "d_model": 64, ...}``."""

from __future__ import annotations

import inspect

from torch import nn

from emibench.models.baselines import ViTGRU, W2VLinear
from emibench.models.dscmn import DSCMN
from emibench.models.inputs import RawInputs, parse_modalities
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


def raw_inputs(config: dict, modalities: str) -> RawInputs | None:
    """What a model config reads raw (audio waves, token ids) for ``modalities``; None when it
    reads stored features only. A model class declares it with a static ``raw_inputs(options,
    modalities)``."""
    config = dict(config)
    name = config.pop("name", None)
    declare = getattr(MODELS.get(name), "raw_inputs", None)
    if declare is None or not raw_modalities({"name": name, **config}, modalities):
        return None
    return declare(config, parse_modalities(modalities))


def raw_modalities(config: dict, modalities: str) -> tuple[str, ...]:
    """The modalities a model config encodes itself from raw media (e.g. ``("A", "T")``): those
    whose encoder it names (a model class lists its options in ``ENCODER_KEYS``). Loads nothing."""
    letters = parse_modalities(modalities)
    name = config.get("name")
    if name not in MODELS:
        return ()
    return tuple(m for m in letters if m in _encoded_modalities(name, config, letters))


def on_features(config: dict) -> dict:
    """The model config with the encoders it would train end to end left out: the same model
    on stored features (``emibench bench train`` times the fusion model this way)."""
    keys = getattr(MODELS.get(config.get("name")), "ENCODER_KEYS", {})
    return {k: v for k, v in config.items() if k not in keys.values()}


def build_model(config: dict, dims: dict[str, int], modalities: str) -> nn.Module:
    """A model from ``config`` (``name`` plus its options) for feature widths ``dims`` {V, A, T}.

    ``modalities`` ("VAT", "V", ...) is the run's subset; a single-modality baseline accepts only
    its own. Unknown keys and missing widths are errors naming the key. A modality the model
    encodes itself (end to end) needs no width.
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
    encoded = _encoded_modalities(name, config, letters)
    absent = [m for m in letters if m not in dims and m not in encoded]
    if absent:
        raise KeyError(f"model {name!r}: no feature width for modality {absent} (dims {dims})")
    kwargs = dict(config)
    if "modalities" in inspect.signature(MODELS[name].__init__).parameters:
        kwargs["modalities"] = letters
    return MODELS[name](dims=dims, **kwargs)


def _encoded_modalities(name: str, options: dict, letters: tuple[str, ...]) -> set[str]:
    """Modalities whose encoder the model options name (without loading anything)."""
    keys = getattr(MODELS[name], "ENCODER_KEYS", {})
    return {m for m in letters if options.get(keys.get(m, ""))}

"""Build any Stage II model from its config dict: ``{"name": "dscmn", "d_model": 64, ...}``.

A model ``name`` is one of (docs/own-system.md):

- a built-in name: an alias, in ``MODELS``, of an import path inside this package;
- a name an installed package registers under the entry-point group ``emibench.models``;
- an import path ``package.module:Attribute``.

Each resolves to a class (or factory function) called as ``cls(dims=..., modalities=..., **keys)``
(``modalities`` only where it takes that parameter). The config's other keys are its keyword
parameters, so an unknown key fails naming the key; a class attribute ``modalities`` (a tuple)
fixes the modalities the model accepts.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points

from torch import nn

from emibench.models.inputs import RawInputs, parse_modalities
from emibench.settings import ConfigError

ENTRY_POINT_GROUP = "emibench.models"
RESERVED = ("dims", "modalities")

MODELS: dict[str, str] = {
    "dscmn": "emibench.models.dscmn:DSCMN",
    "taemi": "emibench.models.taemi:TAEMI",
    "vit_gru": "emibench.models.baselines:ViTGRU",
    "w2v_linear": "emibench.models.baselines:W2VLinear",
    "concat_mlp": "emibench.models.peers:ConcatMLP",
    "pooled_mlp": "emibench.models.peers:PooledMLP",
}


class ModelConfigError(ConfigError, KeyError):
    """A model config that cannot be used (unknown name or key, a model that breaks the
    contract); a KeyError too, so callers catching either see it. The message names the key."""

    __str__ = ConfigError.__str__


def plugin_models() -> dict[str, str]:
    """Models that installed packages register: entry-point name -> ``module:attr``."""
    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if found.get(ep.name, ep.value) != ep.value:
            raise ModelConfigError(
                f"model name {ep.name!r} is registered twice under the entry-point group "
                f"{ENTRY_POINT_GROUP!r}: {found[ep.name]!r} and {ep.value!r}"
            )
        found[ep.name] = ep.value
    return found


def available_models() -> dict[str, str]:
    """Every model name the config may use (built-ins first; they win over a plugin of the same
    name) -> its import path."""
    return {**plugin_models(), **MODELS}


def import_path(name: str) -> str:
    """The ``module:attr`` that model ``name`` stands for."""
    if name in MODELS:
        return MODELS[name]
    if ":" in name:
        return name
    plugins = plugin_models()
    if name in plugins:
        return plugins[name]
    raise ModelConfigError(
        f"model name {name!r}: not a built-in model {sorted(MODELS)}, not registered under the "
        f"entry-point group {ENTRY_POINT_GROUP!r} by an installed package "
        f"(registered: {sorted(plugins) or 'none'}), and not an import path 'module:Class'"
    )


@functools.cache
def resolve_model(name: str) -> Callable[..., nn.Module]:
    """The class (or factory) of model ``name``; import errors name the model and its path."""
    path = import_path(name)
    module_name, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ModelConfigError(
            f"model {name!r}: cannot import module {module_name!r} ({err}); is its package "
            "installed, or on PYTHONPATH?"
        ) from err
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelConfigError(
                f"model {name!r}: {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(obj):
        raise ModelConfigError(f"model {name!r}: {path} is not a class or function")
    params = inspect.signature(obj).parameters
    if "dims" not in params:
        raise ModelConfigError(
            f"model {name!r}: {path} must take a 'dims' argument (feature widths {{V, A, T}})"
        )
    return obj


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    params = inspect.signature(resolve_model(name)).parameters
    return {k: p for k, p in params.items() if k not in (*RESERVED, "self")}


def model_options(name: str) -> dict[str, object]:
    """The config keys a model takes, with their defaults (``inspect.Parameter.empty`` where a key
    is required; ``dims`` and ``modalities`` excluded)."""
    return {
        k: p.default
        for k, p in _parameters(name).items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def check_model_config(config: dict, modalities: str) -> tuple[str, dict]:
    """Check a model config without building it -> (name, its own keys).

    The name must resolve, every key must be a parameter of the model (unless it takes
    ``**kwargs``), every parameter without a default must be given, and a model with fixed
    ``modalities`` must be asked for exactly those. Errors name the key.
    """
    config = dict(config)
    name = config.pop("name", None)
    if name is None:
        raise ModelConfigError(f"model config {config} has no 'name' (one of {sorted(MODELS)})")
    params = _parameters(name)
    options = model_options(name)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(config) - set(options))
    if unknown and not takes_any:
        raise ModelConfigError(
            f"model {name!r}: unknown config key(s) {unknown}; it takes {sorted(options)}"
        )
    required = sorted(k for k, v in options.items() if v is inspect.Parameter.empty)
    lacking = [k for k in required if k not in config]
    if lacking:
        raise ModelConfigError(f"model {name!r}: config lacks required key(s) {lacking}")
    letters = parse_modalities(modalities)
    fixed = getattr(resolve_model(name), "modalities", None)
    if isinstance(fixed, tuple) and fixed != letters:
        raise ModelConfigError(
            f"model {name!r} reads modalities {''.join(fixed)!r}, the run asks for {modalities!r}"
        )
    return name, config


def build_model(config: dict, dims: dict[str, int], modalities: str) -> nn.Module:
    """A model from ``config`` (``name`` plus its options) for feature widths ``dims`` {V, A, T}.

    ``modalities`` ("VAT", "V", ...) is the run's subset; a single-modality baseline accepts only
    its own. Unknown keys and missing widths are errors naming the key.
    """
    name, kwargs = check_model_config(config, modalities)
    letters = parse_modalities(modalities)
    encoded = _encoded_modalities(name, kwargs, letters)
    absent = [m for m in letters if m not in dims and m not in encoded]
    if absent:
        raise ModelConfigError(
            f"model {name!r}: no feature width for modality {absent} (dims {dims})"
        )
    factory = resolve_model(name)
    if "modalities" in inspect.signature(factory).parameters:
        kwargs["modalities"] = letters
    model = factory(dims=dims, **kwargs)
    if not isinstance(model, nn.Module):
        raise ModelConfigError(
            f"model {name!r}: {import_path(name)} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def raw_inputs(config: dict, modalities: str) -> RawInputs | None:
    """What a model config reads raw (audio waves, token ids) for ``modalities``; None when it
    reads stored features only. A model class declares it with a static ``raw_inputs(options,
    modalities)``."""
    config = dict(config)
    name = config.pop("name", None)
    if not raw_modalities({"name": name, **config}, modalities):
        return None
    declare = getattr(resolve_model(name), "raw_inputs", None)
    return None if declare is None else declare(config, parse_modalities(modalities))


def raw_modalities(config: dict, modalities: str) -> tuple[str, ...]:
    """The modalities a model config encodes itself from raw media (e.g. ``("A", "T")``): those
    whose encoder it names (a model class lists its options in ``ENCODER_KEYS``). Loads no
    weights."""
    letters = parse_modalities(modalities)
    name = config.get("name")
    if name is None:
        return ()
    return tuple(m for m in letters if m in _encoded_modalities(name, config, letters))


def on_features(config: dict) -> dict:
    """The model config with the encoders it would train end to end left out: the same model
    on stored features (``emibench bench train`` times the fusion model this way)."""
    keys = getattr(resolve_model(config["name"]), "ENCODER_KEYS", {})
    return {k: v for k, v in config.items() if k not in keys.values()}


def _encoded_modalities(name: str, options: dict, letters: tuple[str, ...]) -> set[str]:
    """Modalities whose encoder the model options name (without loading anything)."""
    keys = getattr(resolve_model(name), "ENCODER_KEYS", {})
    return {m for m in letters if options.get(keys.get(m, ""))}

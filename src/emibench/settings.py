"""Settings dataclasses from config sections: one builder, one error type.

Every config section a command receives (as one JSON argument) becomes a dataclass through
``settings_from``: keys left out keep the dataclass defaults, unknown keys and bad values raise
``ConfigError`` naming the section and the key.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config section or value that cannot be used; the message names the key."""


def settings_from(
    cls: type[T],
    value: Mapping[str, Any] | str | None,
    section: str,
    ignore: Iterable[str] = (),
) -> T:
    """Build the dataclass ``cls`` from a mapping or a JSON string.

    Nested dataclass fields are built from nested mappings; a mapping given for a dict field is
    laid over that field's default (``clips: {train: 8}`` keeps the default valid and test counts);
    lists become tuples where the field is a tuple. ``section`` names the config section in error
    messages (``preprocess.frames``); keys in ``ignore`` belong to the section but not to the
    dataclass (workflow keys) and are dropped.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as err:
            raise ConfigError(f"{section}: not valid JSON: {err}") from None
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(f"{section}: expected a mapping, got {type(value).__name__}")
    skip = set(ignore)
    value = {k: v for k, v in (value or {}).items() if k not in skip}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ConfigError(f"{section}: unknown key(s) {unknown}; known: {sorted(fields)}")
    types = typing.get_type_hints(cls)
    kwargs = {}
    for name, item in value.items():
        kind = types[name]
        if dataclasses.is_dataclass(kind) and isinstance(item, Mapping):
            item = settings_from(kind, item, f"{section}.{name}")
        elif isinstance(item, Mapping):
            default = _default(fields[name])
            if isinstance(default, Mapping):
                item = {**default, **item}
        elif isinstance(item, list) and typing.get_origin(kind) is tuple:
            item = tuple(item)
        kwargs[name] = item
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{section}: {err}") from err


def _default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default

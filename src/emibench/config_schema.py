"""The workflow's config schema: validation with short messages, and defaults filled in.

``check_config`` validates a config against ``config/schema/config.schema.yaml`` (JSON Schema
2020-12, ``$ref`` between the files of that folder resolved as Snakemake's ``validate`` resolves
them) and raises :class:`ConfigSchemaError` listing each error in a few lines: the key path, the
value, the rule it broke and where the schema states it (Snakemake's own message prints the whole
schema, about 1,350 lines).

``check_config`` fills no defaults (Snakemake's ``validate(..., set_default=True)`` fills those of
the file it is given but not of the section schemas it references with ``$ref``, seen with
Snakemake 9.27). ``fill_defaults``, called after it, walks the schema, following ``$ref`` into
other files and into ``$defs``, and sets each missing key that has a ``default``, recursing into
objects that are present. It does not enter ``allOf``, ``anyOf``, ``oneOf`` or ``if``/``then``
branches: defaults there would be applied to every branch.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import yaml
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

MAX_ERRORS = 20
SHORT = 120


class ConfigSchemaError(ValueError):
    """The config breaks its schema; the message lists each error (key path, value, rule)."""


class _Schemas:
    """Schema files loaded once each, and ``$ref`` resolution between them."""

    def __init__(self) -> None:
        self.files: dict[Path, dict] = {}

    def load(self, path: Path) -> dict:
        path = path.resolve()
        if path not in self.files:
            self.files[path] = yaml.safe_load(path.read_text())
        return self.files[path]

    def resolve(self, schema: dict, where: Path) -> tuple[dict, Path]:
        """Follow ``$ref`` chains: ``other.yaml``, ``#/$defs/x`` or ``other.yaml#/$defs/x``."""
        while "$ref" in schema:
            target, _, pointer = schema["$ref"].partition("#")
            if target:
                where = (where.parent / target).resolve()
            node = self.load(where)
            for part in filter(None, pointer.split("/")):
                node = node[part]
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**node, **rest}
        return schema, where


def fill_defaults(config: dict, schema_file: str | Path) -> dict:
    """Set every missing key of ``config`` that the schema gives a default (in place); returns it."""
    schemas = _Schemas()
    path = Path(schema_file).resolve()
    _fill(config, schemas.load(path), path, schemas)
    return config


def _fill(instance: Any, schema: dict, where: Path, schemas: _Schemas) -> None:
    schema, where = schemas.resolve(schema, where)
    if isinstance(instance, dict):
        for key, sub in schema.get("properties", {}).items():
            resolved, _ = schemas.resolve(sub, where)
            if key not in instance and "default" in resolved:
                instance[key] = copy.deepcopy(resolved["default"])
            if key in instance:
                _fill(instance[key], sub, where, schemas)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(instance) - set(schema.get("properties", {})):
                _fill(instance[key], extra, where, schemas)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            _fill(item, schema["items"], where, schemas)


def check_config(config: dict, schema_file: str | Path) -> None:
    """Validate ``config`` (as given, before defaults are filled) against ``schema_file``.

    Raises:
        ConfigSchemaError: one entry per error (up to MAX_ERRORS), each naming the key path, the
            value and the rule it broke, with the schema file and place that states the rule.
    """
    errors = config_errors(config, schema_file)
    if not errors:
        return
    shown = errors[:MAX_ERRORS]
    more = f"\n... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
    raise ConfigSchemaError(
        f"the config breaks its schema ({len(errors)} error(s)):\n" + "\n".join(shown) + more
    )


def config_errors(config: dict, schema_file: str | Path) -> list[str]:
    """Every schema error of ``config``, formatted by :func:`_describe`, ordered by key path,
    each once."""
    schemas = _Schemas()
    path = Path(schema_file).resolve()
    root = {**schemas.load(path), "$id": path.as_uri()}
    schemas.files[path] = root

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(schemas.load(Path(url2pathname(urlparse(uri).path))))

    registry = Registry(retrieve=retrieve).with_resource(
        path.as_uri(), Resource.from_contents(root)
    )
    validator = Draft202012Validator(root, registry=registry)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    places = _SchemaPlaces(schemas)
    # dict.fromkeys: jsonschema reports each missing required key alone; _describe names them all
    return list(dict.fromkeys(_describe(_deepest(error), places) for error in errors))


def _deepest(error: ValidationError) -> ValidationError:
    """For an error of ``anyOf``/``oneOf``, the branch error that says most."""
    while error.context:
        error = best_match(error.context)
    return error


def key_path(path: Any) -> str:
    """``["train", "systems", "x", "seeds", 0]`` -> ``train.systems.x.seeds[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= SHORT else text[: SHORT - 4] + " ..."


def _describe(error: ValidationError, places: _SchemaPlaces) -> str:
    """Two or three lines: the key path and what is wrong with its value; the rule and where the
    schema states it; the key's description, when the schema gives one."""
    key, rule, value = key_path(error.absolute_path), error.validator, error.instance
    properties = error.schema.get("properties", {})
    if rule == "additionalProperties" and isinstance(value, dict):
        unknown = [k for k in value if k not in properties]
        known = ", ".join(properties) or "no keys"
        what = f"unknown key(s) {', '.join(map(repr, unknown))}; it takes {known}"
    elif rule == "required" and isinstance(value, dict):
        missing = [k for k in error.validator_value if k not in value]
        what = f"required key(s) {', '.join(map(repr, missing))} missing"
    elif rule == "enum":
        what = f"{_short(value)} is not one of {', '.join(map(str, error.validator_value))}"
    elif rule == "type":
        what = f"{_short(value)} is not of type {error.validator_value}"
    elif len(error.message) <= 2 * SHORT:
        what = error.message
    else:
        what = f"{_short(value)} breaks {rule} {_short(error.validator_value)}"
    lines = [
        f"- config key {key}: {what}",
        f"  rule {rule}: {_short(error.validator_value)} ({places.of(error.schema)})",
    ]
    description = error.schema.get("description")
    if description and rule not in ("additionalProperties", "required"):
        text = " ".join(description.split())
        lines.append(f"  the key: {text if len(text) <= 2 * SHORT else text[: 2 * SHORT] + ' ...'}")
    return "\n".join(lines)


class _SchemaPlaces:
    """Where a schema node (a dict from the loaded files) sits: ``file#/json/pointer``."""

    def __init__(self, schemas: _Schemas):
        self.places: dict[int, str] = {}
        for path, content in schemas.files.items():
            try:
                name = str(path.relative_to(Path.cwd()))
            except ValueError:
                name = str(path)
            for node, pointer in _walk(content, ""):
                self.places.setdefault(id(node), f"{name}#{pointer}")

    def of(self, node: dict) -> str:
        return self.places.get(id(node), "schema")


def _walk(node: Any, pointer: str) -> Iterator[tuple[Any, str]]:
    if isinstance(node, dict):
        yield node, pointer or "/"
        for key, sub in node.items():
            yield from _walk(sub, f"{pointer}/{key}")
    elif isinstance(node, list):
        for k, sub in enumerate(node):
            yield from _walk(sub, f"{pointer}/{k}")

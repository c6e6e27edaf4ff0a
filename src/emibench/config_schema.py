"""Defaults of the workflow's config schema, filled into a config dict.

Snakemake's ``validate(..., set_default=True)`` fills the defaults of the schema file it is given
but not of the section schemas that file references with ``$ref`` (seen with Snakemake 9.27), so
every section's keys would otherwise have to be written out in each config file. ``fill_defaults``
walks the schema, following ``$ref`` into other files and into ``$defs``, and sets each missing key
that has a ``default``, recursing into objects that are present. It does not enter ``allOf``,
``anyOf``, ``oneOf`` or ``if``/``then`` branches: defaults there would be applied to every branch.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


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

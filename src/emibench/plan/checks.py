"""Cross-references of a config, checked before any job runs; errors name the key.

Every name that points elsewhere in the config: a system's ``submission_variant``, each report
table row, the robustness rows and comparisons, the runs whose fusion weights are drawn, the
tables the ablation figure draws, and each trained run's model config (by the model's own
constructor, where the models can be imported here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emibench.plan.runs import Variant
from emibench.report.names import GENERATED_TABLES
from emibench.settings import ConfigError

MODELS_SOURCE = Path(__file__).resolve().parents[1] / "models"


def _run(variants: Mapping[tuple[str, str], Variant], system: Any, variant: Any, key: str) -> None:
    if (system, variant) in variants:
        return
    systems = {s for s, _ in variants}
    if system not in systems:
        raise ConfigError(
            f"config key {key}: system {system!r} is not in train.systems ({', '.join(sorted(systems))})"
        )
    known = sorted(v for s, v in variants if s == system)
    raise ConfigError(
        f"config key {key}: {system!r} has no variant {variant!r} (its variants: {', '.join(known)})"
    )


def check_cross_references(
    config: Mapping[str, Any], variants: Mapping[tuple[str, str], Variant]
) -> None:
    """Raise ConfigError at the first name that points to nothing."""
    for system, spec in config["train"]["systems"].items():
        chosen = spec.get("submission_variant")
        if chosen is not None:
            _run(variants, system, chosen, f"train.systems.{system}.submission_variant")
    report = config["report"]
    tables = report["tables"]
    for name, table in tables.items():
        if name in GENERATED_TABLES:
            raise ConfigError(
                f"config key report.tables.{name}: {list(GENERATED_TABLES)} are the names of "
                "tables the report makes itself; name the table otherwise"
            )
        for i, row in enumerate(table["rows"]):
            _run(variants, row["system"], row["variant"], f"report.tables.{name}.rows[{i}]")
    if report["per_emotion_rows"] not in tables:
        raise ConfigError(
            f"config key report.per_emotion_rows: no table {report['per_emotion_rows']!r} in "
            f"report.tables ({', '.join(tables)})"
        )
    for i, name in enumerate(report["figures"]["ablation_tables"]):
        if name not in tables:
            raise ConfigError(
                f"config key report.figures.ablation_tables[{i}]: no table {name!r} in "
                f"report.tables ({', '.join(tables)})"
            )
    fusion = report["figures"]["fusion"]
    _run(variants, fusion["system"], fusion["variant"], "report.figures.fusion")
    if not config["robustness"]["conditions"]:
        return
    robust = report["robustness"]
    keys = set()
    for i, row in enumerate(robust["rows"]):
        _run(variants, row["system"], row["variant"], f"report.robustness.rows[{i}]")
        keys.add(row["key"])
    rows = keys or {row["key"] for row in tables[report["per_emotion_rows"]]["rows"]}
    for i, item in enumerate(robust["compare"]):
        for side in ("a", "b"):
            if item[side] not in rows:
                raise ConfigError(
                    f"config key report.robustness.compare[{i}].{side}: {item[side]!r} is not a "
                    f"row key of the robustness table ({', '.join(sorted(rows))})"
                )
    fusion = robust["fusion"]
    _run(variants, fusion["system"], fusion["variant"], "report.robustness.fusion")


def check_models(
    variants: Mapping[tuple[str, str], Variant], cache_dir: str | Path | None = None
) -> None:
    """Every trained run's model config against its model's constructor (imports the models,
    and torch with them). With ``cache_dir``, a check that passed is remembered under a key of
    the model configs, the models' source and the installed model plugins, so a rerun of an
    unchanged config (a dry run, a resume) skips the imports."""
    trained = [v for v in variants.values() if v.kind == "model"]
    marker = None
    if cache_dir is not None:
        marker = Path(cache_dir) / _models_key(trained)
        if marker.exists():
            return
    from emibench.models.registry import check_model_config

    for v in trained:
        try:
            check_model_config(v.config["model"], v.config["modalities"])
        except (KeyError, ValueError) as err:
            raise ConfigError(f"config {v.where}: {err}") from None
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _models_key(trained: list[Variant]) -> str:
    """A digest of what a model check depends on: each run's model config and modalities, the
    source of emibench.models and the entry points of the group emibench.models."""
    from importlib.metadata import entry_points

    digest = hashlib.sha256()
    configs = [(v.system, v.variant, v.config["model"], v.config["modalities"]) for v in trained]
    digest.update(json.dumps(configs, sort_keys=True, default=str).encode())
    for path in sorted(MODELS_SOURCE.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    plugins = sorted(f"{e.name}={e.value}" for e in entry_points(group="emibench.models"))
    digest.update("\n".join(plugins).encode())
    return digest.hexdigest()[:32]

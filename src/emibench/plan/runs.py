"""Config section ``train`` as runs: every (system, variant) resolved, its members, the seeds.

A system trains a model (``model``), averages other runs (``fuse``) or trains a late-fusion
regressor on other runs' predictions (``stack``); see docs/models.md and docs/peers.md. A
variant's resolved config is the system's keys overridden by the variant's, its ``train``
settings layered ``train.defaults`` < system < variant < ``train.overrides``, and the encoder
keys its model names (``model.audio_encoder``, ``model.text_encoder``) replaced by their specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emibench.asr.settings import DEFAULT_SET
from emibench.features.sets import featset_dir
from emibench.modalities import ENCODER_OPTIONS, MODALITY_NAMES, RAW_KEYS, encoded_modalities
from emibench.settings import ConfigError

KINDS = ("model", "fuse", "stack")


@dataclass(frozen=True)
class Variant:
    """A resolved (system, variant).

    kind:         model, fuse or stack
    config:       the resolved run config {features, modalities, model|fuse|stack, train,
                  transcripts (the set a model that encodes text itself reads; where given)}
    members:      (system, variant) of each member of a fused or late-fusion variant
    encoder_keys: the keys of section encoders its model holds and trains end to end
    """

    system: str
    variant: str
    kind: str
    config: dict[str, Any]
    members: tuple[tuple[str, str], ...] = ()
    encoder_keys: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"train.systems.{self.system}.variants.{self.variant}"

    @property
    def raw_modalities(self) -> tuple[str, ...]:
        """The modalities its model encodes itself from raw media (audio waves, transcripts)."""
        if self.kind != "model":
            return ()
        return encoded_modalities(self.config["model"], self.config["modalities"])


def system_kind(system: dict[str, Any]) -> str:
    return "fuse" if "fuse" in system else "stack" if "stack" in system else "model"


def resolve_variant(config: dict[str, Any], system: str, variant: str) -> Variant:
    """The resolved (system, variant) of a validated config; errors name the key."""
    base = config["train"]["systems"][system]
    own = base["variants"][variant] or {}
    where = f"train.systems.{system}.variants.{variant}"
    kind = system_kind(base)
    resolved: dict[str, Any] = {}
    for key in ("features", "modalities"):
        value = own.get(key, base.get(key))
        if value is None:
            raise ConfigError(
                f"config key {where}.{key}: neither the variant nor its system sets it"
            )
        resolved[key] = value
    members: tuple[tuple[str, str], ...] = ()
    encoder_keys: tuple[str, ...] = ()
    if kind == "fuse":
        resolved["fuse"] = list(own.get("fuse", base["fuse"]))
        members = _members(resolved["fuse"], f"{where}.fuse")
    else:
        if kind == "stack":
            resolved["stack"] = {**base["stack"], **own.get("stack", {})}
            if "members" not in resolved["stack"]:
                raise ConfigError(f"config key {where}.stack.members: not set")
            members = _members(resolved["stack"]["members"], f"{where}.stack.members")
        else:
            model = {**base.get("model", {}), **own.get("model", {})}
            encoders = config["encoders"]
            keys = []
            for modality in encoded_modalities(model, resolved["modalities"]):
                option = ENCODER_OPTIONS[modality]
                key = model[option]
                if key not in encoders or key == "tiny":
                    raise ConfigError(
                        f"config key {where}.model.{option}: {key!r} is not a key of section "
                        f"encoders ({', '.join(k for k in encoders if k != 'tiny')})"
                    )
                model[option] = encoders[key]
                keys.append(key)
            resolved["model"] = model
            encoder_keys = tuple(keys)
            transcripts = own.get("transcripts", base.get("transcripts"))
            if transcripts is not None:
                resolved["transcripts"] = transcripts
        resolved["train"] = {
            **config["train"]["defaults"],
            **base.get("train", {}),
            **own.get("train", {}),
            **config["train"].get("overrides", {}),
        }
    return Variant(system, variant, kind, resolved, members, encoder_keys)


def _members(names: list[str], where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for name in names:
        system, _, variant = name.partition("/")
        if not variant:
            raise ConfigError(f"config key {where}: {name!r} is not 'system/variant'")
        out.append((system, variant))
    return tuple(out)


def resolve_variants(config: dict[str, Any]) -> dict[tuple[str, str], Variant]:
    """Every (system, variant) of section train, in config order; members must be trained
    variants of the config."""
    variants = {
        (system, variant): resolve_variant(config, system, variant)
        for system, spec in config["train"]["systems"].items()
        for variant in spec["variants"]
    }
    for v in variants.values():
        for member in v.members:
            target = variants.get(member)
            if target is None or target.kind != "model":
                raise ConfigError(
                    f"config key {v.where}: member {'/'.join(member)!r} is not a trained "
                    "system/variant of the config"
                )
    return variants


def stage1_pairing(seeds: list[int], stage1_seeds: list[int]) -> dict[int, int]:
    """Run seed -> the Stage I seed whose encoders it reads: seed i of train.seeds pairs with
    Stage I seed i mod len(stage1.seeds)."""
    return {seed: stage1_seeds[i % len(stage1_seeds)] for i, seed in enumerate(seeds)}


@dataclass(frozen=True)
class StoreNeed:
    """What a run reads for one store key: a feature store (``featset`` and ``store``) or raw
    media (``media``: audio, or transcripts of the transcript set ``tset``)."""

    key: str
    featset: str = ""
    store: str = ""
    media: str = ""
    tset: str = DEFAULT_SET


def run_needs(variant: Variant, stage1_seed: int) -> list[StoreNeed]:
    """The stores one run of ``variant`` reads (key by key), with the stage1 set of
    ``stage1_seed``. A fused run reads none; a late-fusion run reads the presence of its
    modalities from the feature stores."""
    if variant.kind == "fuse":
        return []
    features = variant.config["features"]
    folder = featset_dir(features, stage1_seed)
    raw = variant.raw_modalities
    needs = []
    for m in variant.config["modalities"]:
        if m in raw and RAW_KEYS[m] == "wave":
            needs.append(StoreNeed(RAW_KEYS[m], media="audio"))
        elif m in raw:
            tset = variant.config.get("transcripts", DEFAULT_SET)
            needs.append(StoreNeed(RAW_KEYS[m], media="transcripts", tset=tset))
        else:
            needs.append(StoreNeed(m, featset=folder, store=MODALITY_NAMES[m]))
    return needs

"""The job specs the workflow hands each heavy step: one JSON object per job (``--job``).

The plan (:mod:`emibench.plan`) builds them from the config and the workflow's path patterns;
the step's CLI parses the same dataclasses back (:func:`load_job`). Every path a job reads or
writes is in its spec, so the rule's inputs and outputs and the command come from one place.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emibench.settings import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class RunJob:
    """One run of a train, stack or fuse job.

    config:  the resolved run config {features, modalities, model|stack|fuse, train}
    stores:  store key (V, A, T, wave, text) -> the files or store folders of every split it reads
    members: the member run folders of a fused or late-fusion run (of the same seed)
    """

    system: str
    variant: str
    seed: int
    out_dir: str
    config: dict[str, Any]
    stores: dict[str, list[str]] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunsJob:
    """``emibench train|stack|fuse --job``: every seed's run of one (system, variant)."""

    manifest: str
    test_labels: str
    runs: list[RunJob]


@dataclass(frozen=True)
class ConditionRun:
    """A run of a robustness condition's predict job.

    kind: ``model`` (a trained run predicts from its stores), ``stack`` (a late-fusion run on its
    members' new predictions and the presence in its stores), ``fuse`` (the mean of its members'
    new predictions) or ``skip`` (not evaluated, for ``reason``); ``stores``: store key -> the
    name of a group of the job's ``stores``; ``members``: the members' output folders under the
    condition.
    """

    kind: str
    run_dir: str
    out_dir: str
    stores: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True)
class PredictJob:
    """``emibench predict --job``: every run under one condition (docs/robustness.md).

    stores:  group name -> the files or store folders of one store, shared by the runs that
             read it (a run names its groups by key)
    results: the condition's long results table, written from every run's record
    """

    condition: str
    spec: list[dict[str, Any]]
    splits: list[str]
    manifest: str
    test_labels: str
    stores: dict[str, list[str]]
    runs: list[ConditionRun]
    results: str

    def run_stores(self, run: ConditionRun) -> dict[str, list[str]]:
        """{store key: paths} of one of the job's runs."""
        unknown = sorted(set(run.stores.values()) - set(self.stores))
        if unknown:
            raise ConfigError(f"--job: {run.run_dir} names unknown store group(s) {unknown}")
        return {key: self.stores[group] for key, group in run.stores.items()}


@dataclass(frozen=True)
class FeatureShard:
    """One shard's inputs of a features job ("" where the job makes no store that needs it)."""

    shard: str
    frames: str
    audio: str = ""
    transcripts: str = ""


@dataclass(frozen=True)
class StoreFolder:
    """A store a job writes as one folder: the folder and each shard's file in it."""

    folder: str
    files: list[str]


@dataclass(frozen=True)
class FeatureJob:
    """``emibench features --job``: the stores of one feature set and split.

    kind:      official, frozen, stage1 or taemi
    outputs:   store (visual, audio, text) -> its folder and shard files, in ``shards`` order
    encoders:  store -> the encoder spec that makes it (official, frozen, taemi)
    stage1:    store -> the Stage I checkpoint that makes it (stage1): one holding that store's
               encoder (a joint checkpoint holds all three)
    organiser: official only: the dataset root whose vit/ and wav2vec2/ files are used and the
               setting features.official_source
    stage1_features: stage1 only, config stage1.features: ``encoder`` stores the Stage I
               encoders' outputs, ``head`` their projection heads'
    project:   stage1 of frozen encoders with linear heads (``Plan.stage1_projects_frozen``):
               store -> the frozen set's store of the same split (and condition) that the heads
               project; no media and no encoder are read
    like:      a condition's job: store -> the clean store of the same set and split; a store
               that no clip of the job has input for (a removed modality) takes its width and
               encoder name, and no encoder is loaded for it
    """

    featset: str
    kind: str
    split: str
    manifest: str
    shards: list[FeatureShard]
    outputs: dict[str, StoreFolder]
    settings: dict[str, Any]
    encoders: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage1: dict[str, str] = field(default_factory=dict)
    organiser: dict[str, str] = field(default_factory=dict)
    stage1_features: str = "encoder"
    project: dict[str, str] = field(default_factory=dict)
    like: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CorruptJob:
    """``emibench corrupt --job``: one store (frames, audio or transcripts) of a robustness
    condition and split, shard by shard: each shard's clean file in ``inputs``, the condition's
    in ``output``."""

    condition: str
    spec: list[dict[str, Any]]
    seed: int
    split: str
    store: str
    shards: list[str]
    inputs: list[str]
    output: StoreFolder


def to_json(job: Any) -> str:
    """A job spec as compact JSON (what the workflow puts on the command line)."""
    return json.dumps(dataclasses.asdict(job), separators=(",", ":"), sort_keys=True)


def load_job(cls: type[T], text: str | dict, what: str = "--job") -> T:
    """Parse a job spec of type ``cls`` from JSON (or a dict); errors name the key."""
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{what}: not valid JSON ({err})") from None
    return _build(cls, text, what)


def _build(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object for {kind.__name__}, got {value!r}")
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown} of {kind.__name__}")
        lacking = [
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in value
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if lacking:
            raise ConfigError(f"{where}: {kind.__name__} lacks key(s) {lacking}")
        return kind(**{k: _build(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(kind)
        return [_build(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, got {value!r}")
        _, item = typing.get_args(kind)
        return {k: _build(item, v, f"{where}.{k}") for k, v in value.items()}
    if kind in (str, int) and not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value

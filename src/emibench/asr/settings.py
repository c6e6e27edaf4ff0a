"""The ASR settings: section ``preprocess.asr`` and the named transcript sets over it
(``preprocess.transcript_sets``). Imports no audio or model library, so the workflow's plan
reads them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emibench.settings import ConfigError, settings_from

BACKENDS = ("whisper", "pocketsphinx")


@dataclass(frozen=True)
class AsrSettings:
    """The ``preprocess.asr`` config section (config/schema/preprocess.schema.yaml describes each key)."""

    backend: str = "pocketsphinx"
    model: str = ""
    language: str = ""
    batch_size: int = 8
    chunk_length_s: float = 30.0
    num_beams: int = 1
    max_new_tokens: int = 128
    precision: str = "auto"
    vocabulary: str = "auto"
    first_segment_only: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "whisper" and not self.model:
            raise ValueError("backend whisper needs a model (hub name or local path)")
        if self.first_segment_only and self.backend != "whisper":
            raise ValueError("first_segment_only needs backend whisper (timestamped segments)")
        if (
            self.batch_size < 1
            or self.num_beams < 1
            or self.max_new_tokens < 1
            or self.chunk_length_s <= 0
        ):
            raise ValueError(f"invalid ASR settings: {self}")


DEFAULT_SET = "default"


@dataclass(frozen=True)
class TranscriptSets:
    """The transcript sets of a config: ``default`` is section ``preprocess.asr``; each set of
    ``preprocess.transcript_sets`` is that section with the keys the set changes laid over it
    (TAEMI's own: Whisper large-v3, beam 5, the first segment only)."""

    sets: dict[str, AsrSettings]

    @classmethod
    def from_config(
        cls, asr: Mapping[str, Any] | None, changes: Mapping[str, Mapping[str, Any]] | None
    ) -> TranscriptSets:
        """From ``preprocess.asr`` and ``preprocess.transcript_sets``; errors name the set."""
        sets = {DEFAULT_SET: settings_from(AsrSettings, asr, "preprocess.asr")}
        base = dataclasses.asdict(sets[DEFAULT_SET])
        for name, change in (changes or {}).items():
            where = f"preprocess.transcript_sets.{name}"
            if name == DEFAULT_SET:
                raise ConfigError(f"{where}: {DEFAULT_SET!r} is preprocess.asr's set; rename it")
            if not isinstance(change, Mapping):
                raise ConfigError(f"{where}: expected a mapping of preprocess.asr keys")
            unknown = sorted(set(change) - set(base))
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(base)}")
            sets[name] = settings_from(AsrSettings, {**base, **change}, where)
        return cls(sets)

    def __getitem__(self, name: str) -> AsrSettings:
        if name not in self.sets:
            raise ConfigError(f"no transcript set {name!r}; the config has {sorted(self.sets)}")
        return self.sets[name]

    def config(self, name: str) -> dict[str, Any]:
        """The set's complete ``preprocess.asr`` section (``emibench transcribe --config``)."""
        return dataclasses.asdict(self[name])

"""The ``robustness`` config section: conditions as lists of corruption ops, validated.

A condition is a name and a list of ops applied in order, each op a mapping with ``op`` and its
parameters (config/schema/robustness.schema.yaml describes every key)::

    occlusion50_noise0db:
      - {op: occlude, share: 0.5}
      - {op: noise, snr_db: 0, source: babble}

Vision ops act on the frames store, audio ops on the audio store, text ops decide the transcript
source (:attr:`Condition.text`): ``clean`` (the clean transcripts, the default), ``asr`` (the
configured ASR run on the condition's audio) or ``removed`` (every transcript empty). Every problem
raises :class:`~emibench.settings.ConfigError` naming ``robustness.conditions.<name>[<i>]``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emibench.settings import ConfigError, settings_from

SECTION = "robustness"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")  # a path component and a Snakemake wildcard
RESERVED_NAMES = ("clean",)  # the unchanged media; the DAG's name for the clean branch
SPLITS = ("valid", "test")
REGIONS = ("lower", "upper", "full")
PATTERNS = ("block", "random")
NOISE_SOURCES = ("babble", "white", "pink", "brown")
TEXT_MODES = ("clean", "asr", "removed")


def _number(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> None:
    """Raise unless ``value`` is a number in [lo, hi] (``(lo, hi]`` with ``lo_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    above = value > lo if lo_open else value >= lo
    if not (above and value <= hi):
        raise ValueError(f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}], got {value}")


def _choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")


@dataclass(frozen=True)
class Occlude:
    """A filled rectangle over part of the face box, on ``share`` of the clip's frames.

    The face box is the centred square of side ``box`` x the crop side (a face crop is centred on
    the face; 2/3 is the face box of the default crop margin 0.25: side / (1 + 2 x 0.25)).
    region: its ``upper`` 55 % (brows, eyes), the ``lower`` rest (nose tip, mouth, chin) or all
    of it (``full``). pattern: ``block`` (one run of consecutive frames at a seeded start) or ``random``
    (a seeded subset). fill: grey level 0..255 of the patch.
    """

    share: float = 0.5
    region: str = "lower"
    box: float = 2 / 3
    pattern: str = "block"
    fill: int = 128

    def __post_init__(self) -> None:
        _number("share", self.share, 0, 1, lo_open=True)
        _choice("region", self.region, REGIONS)
        _number("box", self.box, 0, 1, lo_open=True)
        _choice("pattern", self.pattern, PATTERNS)
        _number("fill", self.fill, 0, 255)


@dataclass(frozen=True)
class Blur:
    """Gaussian blur of every frame; sigma is a share of the crop side (0.04: 9 px at 224)."""

    sigma: float = 0.04

    def __post_init__(self) -> None:
        _number("sigma", self.sigma, 0, 0.5, lo_open=True)


@dataclass(frozen=True)
class LowLight:
    """Every frame darkened to ``255 gain (x / 255) ^ gamma`` plus Gaussian sensor noise.

    noise_std is in 8-bit levels; the result is rounded and clipped to uint8.
    """

    gain: float = 0.3
    gamma: float = 1.5
    noise_std: float = 4.0

    def __post_init__(self) -> None:
        _number("gain", self.gain, 0, 1, lo_open=True)
        _number("gamma", self.gamma, 0, 10, lo_open=True)
        _number("noise_std", self.noise_std, 0, 64)


@dataclass(frozen=True)
class DropFrames:
    """Remove ``share`` of the frames with their timestamps (at least one is kept unless share is 1;
    share 1 makes the clip a missing entry). pattern: ``random`` subset or one ``block``."""

    share: float = 0.5
    pattern: str = "random"

    def __post_init__(self) -> None:
        _number("share", self.share, 0, 1, lo_open=True)
        _choice("pattern", self.pattern, PATTERNS)


@dataclass(frozen=True)
class Noise:
    """Additive noise at ``snr_db`` against the clip's power over the whole clip.

    source: ``babble`` (``talkers`` other clips of the same audio store, never the clip itself) or
    ``white``/``pink``/``brown`` Gaussian noise (power ~ f^0, f^-1, f^-2 above 20 Hz).
    """

    snr_db: float
    source: str = "babble"
    talkers: int = 4

    def __post_init__(self) -> None:
        _number("snr_db", self.snr_db, -30, 60)
        _choice("source", self.source, NOISE_SOURCES)
        if isinstance(self.talkers, bool) or not isinstance(self.talkers, int) or self.talkers < 1:
            raise ValueError(f"talkers must be a positive integer, got {self.talkers!r}")


@dataclass(frozen=True)
class NoParams:
    """An op without parameters (remove_audio, remove_text, asr)."""


OPS: dict[str, type] = {
    "occlude": Occlude,
    "blur": Blur,
    "low_light": LowLight,
    "drop_frames": DropFrames,
    "noise": Noise,
    "remove_audio": NoParams,
    "remove_text": NoParams,
    "asr": NoParams,
}
VISION_OPS = ("occlude", "blur", "low_light", "drop_frames")
AUDIO_OPS = ("noise", "remove_audio")
TEXT_OPS = ("remove_text", "asr")
# Ops that remove information outright; the others degrade it by an amount that depends on the
# reader (see emibench.robustness.oracle).
DEGRADING_OPS = ("blur", "low_light", "noise", "asr")


@dataclass(frozen=True)
class Op:
    """One op of a condition: its name, parameters and position in the condition's list."""

    name: str
    params: Any
    index: int

    @property
    def modality(self) -> str:
        if self.name in VISION_OPS:
            return "frames"
        return "audio" if self.name in AUDIO_OPS else "text"

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.name, **dataclasses.asdict(self.params)}


@dataclass(frozen=True)
class Condition:
    """A named list of ops; ``vision_ops``/``audio_ops`` in config order."""

    name: str
    ops: tuple[Op, ...]

    @property
    def vision_ops(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.modality == "frames")

    @property
    def audio_ops(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.modality == "audio")

    @property
    def text(self) -> str:
        """Where the condition's transcripts come from: ``clean``, ``asr`` or ``removed``."""
        names = {op.name for op in self.ops}
        return "removed" if "remove_text" in names else "asr" if "asr" in names else "clean"

    @property
    def corrupts(self) -> tuple[str, ...]:
        """The stores ``emibench corrupt`` writes for this condition (``frames``, ``audio``,
        ``transcripts``); the DAG reuses the clean file of every other one (``asr`` transcripts
        come from ``emibench transcribe`` on the condition's audio)."""
        out = []
        if self.vision_ops:
            out.append("frames")
        if self.audio_ops:
            out.append("audio")
        if self.text == "removed":
            out.append("transcripts")
        return tuple(out)

    @property
    def changed_media(self) -> tuple[str, ...]:
        """The media stores whose files the condition replaces: those ``corrupts`` writes, and
        the transcripts of an ``asr`` condition (the ASR on the condition's audio)."""
        return (*self.corrupts, "transcripts") if self.text == "asr" else self.corrupts

    @property
    def changed_features(self) -> tuple[str, ...]:
        """The feature stores the condition changes: visual for vision ops; audio for audio ops
        and dropped frames (audio is pooled onto the frames' timestamps); text unless the clean
        transcripts are kept."""
        out = []
        if self.vision_ops:
            out.append("visual")
        if self.audio_ops or self.op("drop_frames") is not None:
            out.append("audio")
        if self.text != "clean":
            out.append("text")
        return tuple(out)

    def op(self, name: str) -> Op | None:
        return next((op for op in self.ops if op.name == name), None)

    def to_spec(self) -> list[dict[str, Any]]:
        """The ops with every parameter filled in (JSON-ready)."""
        return [op.to_dict() for op in self.ops]

    def to_json(self) -> str:
        return json.dumps(self.to_spec(), sort_keys=True)


def parse_condition(name: Any, ops: Any) -> Condition:
    """One ``robustness.conditions`` entry as a :class:`Condition`; ConfigError names the key."""
    where = f"{SECTION}.conditions.{name}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: a condition name must match {NAME_PATTERN.pattern} "
            "(it becomes a folder name and a Snakemake wildcard)"
        )
    if name in RESERVED_NAMES:
        raise ConfigError(f"{where}: the name {name!r} is reserved for the unchanged media")
    if isinstance(ops, str):
        try:
            ops = json.loads(ops)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{where}: not valid JSON: {err}") from None
    if not isinstance(ops, list) or not ops:
        raise ConfigError(f"{where}: expected a non-empty list of ops, got {ops!r}")
    parsed = []
    for i, item in enumerate(ops):
        key = f"{where}[{i}]"
        if not isinstance(item, Mapping) or "op" not in item:
            raise ConfigError(f"{key}: expected a mapping with an 'op' key, got {item!r}")
        op_name = item["op"]
        if op_name not in OPS:
            raise ConfigError(f"{key}: unknown op {op_name!r}; known: {list(OPS)}")
        params = {k: v for k, v in item.items() if k != "op"}
        parsed.append(Op(op_name, settings_from(OPS[op_name], params, f"{key} ({op_name})"), i))
    condition = Condition(name, tuple(parsed))
    _check_combination(condition, where)
    return condition


def _check_combination(condition: Condition, where: str) -> None:
    names = [op.name for op in condition.ops]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{where}: op(s) {twice} given more than once; give each op once")
    if "remove_audio" in names and "noise" in names:
        raise ConfigError(f"{where}: noise on removed audio; keep one of noise and remove_audio")
    if "remove_text" in names and "asr" in names:
        raise ConfigError(f"{where}: remove_text and asr both decide the transcripts; keep one")
    if "asr" in names and "remove_audio" in names:
        raise ConfigError(
            f"{where}: asr on removed audio gives no transcript at all; use remove_text instead"
        )
    if "asr" in names and "noise" not in names:
        raise ConfigError(
            f"{where}: asr recomputes the transcripts from the condition's audio, but this "
            "condition leaves the audio clean (the clean transcripts are that ASR already); "
            "drop the asr op or add an audio op"
        )
    drop = condition.op("drop_frames")
    if drop is not None and drop.params.share >= 1 and len(condition.vision_ops) > 1:
        raise ConfigError(
            f"{where}: drop_frames with share 1 removes every frame; the other vision ops "
            "would have nothing to act on"
        )


def parse_conditions(conditions: Any) -> dict[str, Condition]:
    """``robustness.conditions`` (name -> list of ops) as Conditions, in config order."""
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise ConfigError(f"{SECTION}.conditions: expected a mapping name -> list of ops")
    return {name: parse_condition(name, ops) for name, ops in conditions.items()}


@dataclass(frozen=True)
class RobustnessSettings:
    """The ``robustness`` section: ``seed`` of every corruption, the ``splits`` the conditions
    apply to, and ``conditions`` (name -> list of ops, parsed in :attr:`parsed`)."""

    seed: int = 0
    splits: tuple[str, ...] = ("valid",)
    conditions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"{SECTION}.seed: a non-negative integer, got {self.seed!r}")
        bad = [s for s in self.splits if s not in SPLITS]
        if bad or not self.splits:
            raise ConfigError(f"{SECTION}.splits: a non-empty list of {list(SPLITS)}, got {bad}")
        parse_conditions(self.conditions)

    @property
    def parsed(self) -> dict[str, Condition]:
        return parse_conditions(self.conditions)


def robustness_settings(value: Mapping[str, Any] | str | None) -> RobustnessSettings:
    """The ``robustness`` section (mapping or JSON) as settings; ConfigError names the key."""
    return settings_from(RobustnessSettings, value, SECTION)

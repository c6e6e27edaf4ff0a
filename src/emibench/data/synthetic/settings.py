"""Settings of the synthetic Hume-Vidmimic2 generator (config section ``synthetic``).

The defaults here are the schema's defaults (``config/schema/synthetic.schema.yaml``; a test keeps
the two equal). The CLI receives the section as one JSON argument and builds a
:class:`SynthSettings` from it with ``emibench.settings.settings_from``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from emibench.emotions import SPLITS
from emibench.settings import ConfigError


@dataclass(frozen=True)
class SynthSettings:
    seed: int = 0
    clips: dict[str, int] = field(default_factory=lambda: {"train": 160, "valid": 64, "test": 64})
    subjects: dict[str, int] = field(default_factory=lambda: {"train": 24, "valid": 10, "test": 10})
    duration_s: tuple[float, float] = (3.0, 8.0)
    fps: tuple[float, ...] = (24.0, 25.0, 30.0)
    frame_size: tuple[int, int] = (160, 128)
    annotators: int = 10
    nonzero_share: dict[str, float] = field(
        default_factory=lambda: {
            "Admiration": 0.45,
            "Amusement": 0.36,
            "Determination": 0.33,
            "Empathic Pain": 0.10,
            "Excitement": 0.38,
            "Joy": 0.33,
        }
    )
    excitement_joy_corr: float = 0.23
    signal: dict[str, float] = field(
        default_factory=lambda: {"visual": 0.7, "audio": 0.6, "text": 0.5}
    )
    occluded_share: float = 0.1
    silent_share: float = 0.05
    no_audio_track_share: float = 0.05
    snr_db: tuple[float, float] = (5.0, 30.0)
    audio_file_share: float = 0.5
    audio_rate: int = 22050
    voices: tuple[str, ...] = (
        "en-us+m1",
        "en-us+m3",
        "en-us+f2",
        "en-us+f4",
        "en+m2",
        "en+f3",
    )
    edge_cases: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the key of the first inconsistent setting."""

        def fail(key: str, why: str) -> None:
            raise ConfigError(f"synthetic.{key}: {why}")

        for split in SPLITS:
            if self.clips.get(split, 0) < 1:
                fail(f"clips.{split}", "needs at least one clip")
            if not 1 <= self.subjects.get(split, 0):
                fail(f"subjects.{split}", "needs at least one subject")
        lo, hi = self.duration_s
        if not 0 < lo <= hi:
            fail("duration_s", f"needs 0 < min <= max, got {self.duration_s}")
        if not self.fps or min(self.fps) <= 0:
            fail("fps", f"needs positive frame rates, got {self.fps}")
        width, height = self.frame_size
        if width < 64 or height < 48 or width % 2 or height % 2:
            fail("frame_size", f"needs even width >= 64 and height >= 48, got {self.frame_size}")
        if self.annotators < 1:
            fail("annotators", "needs at least one annotator")
        for name, value in {**self.nonzero_share, **self.signal}.items():
            if not 0 <= value <= 1:
                fail(name, f"must lie in [0, 1], got {value}")
        for key in ("occluded_share", "silent_share", "no_audio_track_share", "audio_file_share"):
            if not 0 <= getattr(self, key) <= 1:
                fail(key, f"must lie in [0, 1], got {getattr(self, key)}")
        if self.silent_share + self.no_audio_track_share > 1:
            fail("silent_share", "silent_share + no_audio_track_share exceeds 1")
        if not -1 < self.excitement_joy_corr < 1:
            fail("excitement_joy_corr", "must lie in (-1, 1)")
        if self.snr_db[0] > self.snr_db[1]:
            fail("snr_db", f"needs min <= max, got {self.snr_db}")
        if not self.voices:
            fail("voices", "needs at least one eSpeak voice")

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()
        }

"""Batching and precision of encoding (config section ``features``), shared by Stage I and the
feature stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emibench.settings import settings_from

# keys of config section features that are not encoding settings
WORKFLOW_KEYS = ("official_source",)


@dataclass
class ExtractSettings:
    """Batching and precision of extraction (config section ``features``)."""

    batch_size: int = 64
    audio_batch_size: int = 8
    audio_window_s: float = 20.0
    text_batch_size: int = 64
    keep_raw_audio: bool = True
    precision: str = "auto"
    prefetch: int = 2


def extract_settings(values: Mapping[str, Any] | None) -> ExtractSettings:
    """``ExtractSettings`` from config section ``features`` (its workflow keys dropped)."""
    return settings_from(ExtractSettings, values, "features", ignore=WORKFLOW_KEYS)

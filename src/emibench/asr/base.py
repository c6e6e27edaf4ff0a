"""The transcription interface every backend implements, and the transcript table's columns.

A backend gets batches of ``(clip id, samples)`` (mono float32 at 16 kHz, non-empty) and returns
one :class:`Transcript` per clip. Clips without usable audio never reach a backend: the shard job
gives them ``no_audio`` (missing in the audio store) or ``empty_audio`` (no samples, or digital
silence) itself. A backend that fails on a batch is retried clip by clip, so one bad clip ends as
``failed`` with its reason and the rest go on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

COLUMNS = ("id", "text", "language", "confidence", "backend", "status", "reason")
# removed: emptied by a robustness condition (emibench corrupt, remove_text), never by a backend
STATUSES = ("ok", "empty_audio", "no_audio", "failed", "removed")
SAMPLE_RATE = 16000


@dataclass
class Transcript:
    """One row of the transcript table (columns of docs/architecture.md, in order).

    confidence: in [0, 1], the backend's own measure (see the backend's docstring); NaN when the
    clip has no transcript.
    """

    id: str
    text: str = ""
    language: str = ""
    confidence: float = float("nan")
    backend: str = ""
    status: str = "ok"
    reason: str = ""

    def row(self) -> dict:
        return asdict(self)


class Transcriber(ABC):
    """A speech recogniser over batches of 16 kHz mono clips."""

    name: str = ""

    @abstractmethod
    def transcribe(self, batch: Sequence[tuple[str, np.ndarray]]) -> list[Transcript]:
        """Transcribe ``[(id, samples (N,) float32 at 16 kHz), ...]``; one result per clip, in order."""

    def describe(self) -> str:
        """One line naming the model and settings, for logs and benchmarks."""
        return self.name

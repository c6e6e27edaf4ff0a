"""Stage I inputs: which clips take part in each pair, and their media segment means and text CLS.

The pairs are vision-text (frames) and audio-text (audio). A Stage I model trains one pair (the
``pairs`` objective, one job per pair) or both at once (the ``joint`` objective: one text encoder
for both media, loss ``L_v2t + L_a2t``). A clip takes part when its transcript is not empty and
at least one medium of the model's pairs is present; within a pair's loss and retrieval only the
clips with that pair's medium count (a clip without audio enters ``L_v2t`` alone). Clips with no
transcript, or with none of the media, are left out and counted.

With ``train_layers = 0`` the encoders are frozen, so their outputs are computed once and cached
(segment means (M, D) per clip, CLS (D,)); with ``train_layers > 0`` each batch re-runs the
encoders with gradients through the unfrozen blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emibench.encoding.encode import encode_frames, encode_texts, encode_waves
from emibench.encoding.media import Item, MediaReader, group_by_rows, prefetch, text_of
from emibench.encoding.settings import ExtractSettings
from emibench.features.sets import ENCODER_KIND as MEDIA_ENCODER_KIND
from emibench.features.sets import STAGE1_PAIRS, STAGE1_TARGETS
from emibench.models.pooling import segment_means

log = logging.getLogger(__name__)

# pair -> the store (modality) of its media encoder
PAIRS = STAGE1_PAIRS
# objective or single pair (the CLI's --pair) -> the pairs one Stage I model trains
OBJECTIVE_PAIRS = STAGE1_TARGETS
# modality -> the encoder kind of the registry
ENCODER_KIND: dict[str, str] = {**MEDIA_ENCODER_KIND, "text": "text"}


@dataclass
class Stage1Clips:
    """The clips of one split that take part, their texts, which pairs each enters, the rest.

    ``media`` maps each pair to the ids (a subset of ``ids``) whose medium is present.
    """

    ids: list[str]
    texts: list[str]
    media: dict[str, set[str]]
    left_out: dict[str, str] = field(default_factory=dict)

    def of(self, pair: str) -> list[str]:
        """The ids of ``pair``'s clips, in ``ids`` order."""
        present = self.media[pair]
        return [i for i in self.ids if i in present]

    def texts_of(self, pair: str) -> list[str]:
        present = self.media[pair]
        return [t for i, t in zip(self.ids, self.texts) if i in present]

    def reasons(self) -> dict[str, int]:
        """How many clips were left out for each reason (reasons cut at the first colon)."""
        counts: dict[str, int] = {}
        for reason in self.left_out.values():
            key = reason.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        return counts


def select_clips(
    ids: Sequence[str], media: MediaReader, transcripts: pd.DataFrame, pairs: Sequence[str]
) -> Stage1Clips:
    """Split ``ids`` into those with a non-empty transcript and a medium of one of ``pairs``, and
    the rest (with the reason)."""
    chosen, texts, left_out = [], [], {}
    present: dict[str, set[str]] = {pair: set() for pair in pairs}
    for clip_id in ids:
        text = text_of(transcripts, clip_id)
        missing = []
        for pair in pairs:
            ok, reason = media.has(PAIRS[pair], clip_id)
            if ok:
                present[pair].add(clip_id)
            else:
                missing.append(f"{PAIRS[pair]} missing: {reason}")
        if text.value is None:
            left_out[clip_id] = text.reason
        elif len(missing) == len(pairs):
            left_out[clip_id] = "; ".join(missing)
        else:
            chosen.append(clip_id)
            texts.append(text.value)
    for pair in pairs:
        present[pair] &= set(chosen)
    return Stage1Clips(chosen, texts, present, left_out)


class MediaSegments:
    """Segment means (M_i, D) of clips' media features, cached (frozen encoder) or recomputed."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        media: MediaReader,
        modality: str,
        n_segments: int,
        settings: ExtractSettings,
        cache: bool,
    ):
        self.encoder, self.media, self.modality = encoder, media, modality
        self.n_segments, self.settings = n_segments, settings
        self.cached: dict[str, torch.Tensor] | None = {} if cache else None

    def _read(self, clip_id: str) -> np.ndarray:
        item = (
            self.media.frames_of(clip_id)
            if self.modality == "visual"
            else self.media.wave_of(clip_id, self.encoder.sample_rate)
        )
        if item.value is None:
            raise ValueError(
                f"clip {clip_id}: {self.modality} was selected for Stage I but is missing ({item.reason})"
            )
        return item.value

    def _encode(self, arrays: Sequence[np.ndarray]) -> list[torch.Tensor]:
        s = self.settings
        if self.modality == "visual":
            feats = encode_frames(self.encoder, arrays, s.batch_size, s.precision)
        else:
            feats = [
                f
                for f, _ in encode_waves(
                    self.encoder, arrays, s.audio_batch_size, s.audio_window_s, s.precision
                )
            ]
        return [segment_means(f, self.n_segments) for f in feats]

    def precompute(self, ids: Sequence[str], what: str) -> None:
        """Fill the cache for ``ids`` (frozen encoder; reading overlaps encoding)."""
        assert self.cached is not None
        rows = (
            self.settings.batch_size
            if self.modality == "visual"
            else self.settings.audio_batch_size
        )
        unit = (
            1
            if self.modality == "visual"
            else int(self.settings.audio_window_s * self.encoder.sample_rate)
        )
        items = (Item(i, self._read(i)) for i in ids)
        with (
            torch.no_grad(),
            tqdm(total=len(ids), desc=what, unit="clip", leave=False, mininterval=2.0) as bar,
        ):
            for group in prefetch(group_by_rows(items, 4 * rows * unit), self.settings.prefetch):
                for item, seg in zip(group, self._encode([it.value for it in group])):
                    self.cached[item.id] = seg.clone()
                bar.update(len(group))

    def __call__(self, ids: Sequence[str]) -> list[torch.Tensor]:
        if self.cached is not None:
            return [self.cached[i] for i in ids]
        return self._encode([self._read(i) for i in ids])


class TextCLS:
    """CLS vectors (B, D) of clips' transcripts, cached (frozen encoder) or recomputed."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        texts: dict[str, str],
        settings: ExtractSettings,
        cache: bool,
    ):
        self.encoder, self.texts, self.settings = encoder, texts, settings
        self.cached: dict[str, torch.Tensor] | None = None
        if cache:
            ids = list(texts)
            with torch.no_grad():
                tokens = encode_texts(
                    encoder, [texts[i] for i in ids], settings.text_batch_size, settings.precision
                )
            self.cached = {i: t[0].clone() for i, t in zip(ids, tokens)}

    def __call__(self, ids: Sequence[str]) -> torch.Tensor:
        if self.cached is not None:
            return torch.stack([self.cached[i] for i in ids])
        tokens = encode_texts(
            self.encoder,
            [self.texts[i] for i in ids],
            self.settings.text_batch_size,
            self.settings.precision,
        )
        return torch.stack([t[0] for t in tokens])

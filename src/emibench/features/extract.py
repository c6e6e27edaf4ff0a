"""Feature extraction of one shard into the three feature stores (visual, audio, text).

One job writes a shard's three modality stores of one feature set (fewer job start-ups; the
encoders are loaded once). What each store holds:

- visual: (T, D) per frame at the frame rate, T = the frames store's frame count.
- audio: (T, D) pooled onto the visual time base (see ``encoding.pooling``); extra ``raw``
  (T_a, D) at the encoder's native rate (about 50 frames/s) when ``keep_raw_audio``.
- text: (L, D) token features of the transcript (row 0 is CLS); extra ``cls`` (D,).

Each modality has a source: an encoder (with an optional head applied to its per-frame / per-token
outputs: the Stage I projection) or the organisers' .pkl files. A clip whose input is missing
gets a ``(0, D)`` entry with ``missing=True`` and the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emibench.data.store import SequenceReader, SequenceWriter
from emibench.encoding.encode import encode_frames, encode_texts, encode_waves
from emibench.encoding.media import Item, MediaReader, group_by_rows, prefetch, text_of
from emibench.encoding.pooling import pool_to_steps, uniform_times
from emibench.encoding.settings import ExtractSettings
from emibench.features.official import (
    ORGANISER_DIRS,
    ORGANISER_RATES_HZ,
    organiser_path,
    read_organiser_features,
)

log = logging.getLogger(__name__)

MODALITIES = ("visual", "audio", "text")
Head = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Source:
    """Where one modality's features come from: ``encoder`` (+ ``head``) or organiser files;
    neither, with ``width``, for a store that no clip has input for (every entry missing)."""

    encoder: torch.nn.Module | None = None
    head: torch.nn.Module | None = None
    organiser_root: str | None = None
    label: str = ""
    width: int = 0

    @property
    def dim(self) -> int:
        if self.width:
            return self.width
        if self.head is not None:
            return int(self.head.out_dim)
        return int(self.encoder.dim)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.head is None else self.head(x)


@dataclass
class ShardSummary:
    """Counts per modality of what was written."""

    present: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


F16_MAX = float(np.finfo(np.float16).max)


def _f16(x: torch.Tensor, clip_id: str) -> np.ndarray:
    """float16 for the store; values beyond its range are an error naming the clip."""
    values = x.detach().float().cpu().numpy()
    peak = float(np.abs(values).max(initial=0.0))
    if not np.isfinite(peak) or peak > F16_MAX:
        raise FloatingPointError(
            f"clip {clip_id}: features reach {peak:.3g}, beyond float16 ({F16_MAX:g})"
        )
    return values.astype(np.float16)


def extract_shard(
    ids: Sequence[str],
    media: MediaReader,
    transcripts: pd.DataFrame,
    outputs: Mapping[str, str | Path],
    sources: Mapping[str, Source],
    featset: str,
    settings: ExtractSettings,
) -> ShardSummary:
    """Write the feature stores named in ``outputs`` (modality -> path) for the clips ``ids``."""
    summary = ShardSummary()
    with ExitStack() as stack, torch.inference_mode():
        for modality in MODALITIES:
            if modality not in outputs:
                continue
            source = sources[modality]
            start = time.perf_counter()
            if source.organiser_root is not None:
                dim = _organiser_dim(source.organiser_root, modality, ids)
            else:
                dim = source.dim
            writer = stack.enter_context(
                _writer(outputs[modality], featset, modality, source.label, dim)
            )
            if source.encoder is None and source.organiser_root is None:
                counts = _without_input(modality, ids, media, transcripts, writer, dim)
            else:
                run = {"visual": _visual, "audio": _audio, "text": _text}[modality]
                counts = run(ids, media, transcripts, writer, source, dim, settings)
            summary.present[modality], summary.missing[modality] = counts
            summary.seconds[modality] = time.perf_counter() - start
            log.info(
                "%s %s: %d clips written, %d missing, %.1f s",
                featset,
                modality,
                counts[0],
                counts[1],
                summary.seconds[modality],
            )
    return summary


def project_shard(
    ids: Sequence[str],
    frozen: Mapping[str, SequenceReader],
    outputs: Mapping[str, str | Path],
    heads: Mapping[str, torch.nn.Module],
    labels: Mapping[str, str],
    featset: str,
) -> ShardSummary:
    """The stage1 stores of a Stage I model whose encoders stayed frozen and whose heads are
    linear: each head applied to every array of the frozen set's entry of the same clip (the
    audio's steps and native-rate ``raw``, the text's tokens and ``cls``), the entry's attributes
    kept; a missing entry stays missing with its reason. With a linear head, projecting the
    pooled audio equals pooling the projected frames, so no encoder runs again."""
    summary = ShardSummary()
    with ExitStack() as stack, torch.inference_mode():
        for modality in MODALITIES:
            if modality not in outputs:
                continue
            start = time.perf_counter()
            head, source = heads[modality], frozen[modality]
            dim = int(head.out_dim)
            writer = stack.enter_context(
                _writer(outputs[modality], featset, modality, labels[modality], dim)
            )
            present = missing = 0
            for clip_id in ids:
                attrs = source.attrs(clip_id)
                if attrs.get("missing", False):
                    extras = {"cls": np.zeros(dim, np.float16)} if modality == "text" else None
                    writer.write(clip_id, np.zeros((0, dim), np.float16), extras, **attrs)
                    missing += 1
                    continue
                extras = {
                    name: _projected(head, source.extra(clip_id, name), clip_id)
                    for name in source.extras(clip_id)
                }
                writer.write(clip_id, _projected(head, source[clip_id], clip_id), extras, **attrs)
                present += 1
            summary.present[modality], summary.missing[modality] = present, missing
            summary.seconds[modality] = time.perf_counter() - start
            log.info(
                "%s %s: %d clips projected from %s, %d missing, %.1f s",
                featset,
                modality,
                present,
                ", ".join(map(str, source.paths)),
                missing,
                summary.seconds[modality],
            )
    return summary


def _writer(path: str | Path, featset: str, modality: str, encoder: str, dim: int):
    """A feature store file of one modality, with the attributes its readers check."""
    return SequenceWriter(
        path, kind="features", featset=featset, modality=modality, encoder=encoder, dim=dim
    )


def _projected(head: torch.nn.Module, array: np.ndarray, clip_id: str) -> np.ndarray:
    return _f16(head(torch.from_numpy(array.astype(np.float32))), clip_id)


def _write_missing(
    writer: SequenceWriter, item: Item, dim: int, rate_hz: float, modality: str
) -> None:
    extras = {"cls": np.zeros(dim, np.float16)} if modality == "text" else None
    writer.write(
        item.id,
        np.zeros((0, dim), np.float16),
        extras,
        missing=True,
        reason=item.reason,
        rate_hz=rate_hz,
    )


def input_item(modality: str, clip_id: str, media: MediaReader, transcripts) -> Item:
    """A clip's input of ``modality``: its frames, wave or transcript, or None with the reason."""
    if modality == "visual":
        return media.frames_of(clip_id)
    if modality == "audio":
        return media.wave_of(clip_id)
    return text_of(transcripts, clip_id)


def has_input(modality: str, clip_id: str, media: MediaReader, transcripts) -> bool:
    """Whether a clip has input for ``modality``, without reading its media."""
    if modality == "text":
        return text_of(transcripts, clip_id).value is not None
    return media.has(modality, clip_id)[0]


def _without_input(modality, ids, media, transcripts, writer, dim) -> tuple[int, int]:
    """A store that no clip has input for: every entry missing, with its clip's reason."""
    rate = 0.0 if modality == "text" else media.frame_rate
    for clip_id in ids:
        item = input_item(modality, clip_id, media, transcripts)
        if item.value is not None:
            raise ValueError(f"clip {clip_id} has {modality} input but no encoder was loaded")
        _write_missing(writer, item, dim, rate, modality)
    return 0, len(ids)


def _progress(ids: Sequence[str], what: str) -> tqdm:
    return tqdm(total=len(ids), desc=what, unit="clip", leave=False, mininterval=2.0)


def _visual(ids, media, transcripts, writer, source: Source, dim, settings) -> tuple[int, int]:
    rate = media.frame_rate
    present = missing = 0
    with _progress(ids, "visual") as bar:
        if source.organiser_root is not None:
            for clip_id in ids:
                item = _organiser_on_steps(source.organiser_root, "visual", clip_id, media)
                if item.value is None:
                    _write_missing(writer, item, dim, rate, "visual")
                    missing += 1
                else:
                    writer.write(clip_id, _f16(item.value, clip_id), rate_hz=rate)
                    present += 1
                bar.update()
            return present, missing
        items = (media.frames_of(i) for i in ids)
        for group in prefetch(group_by_rows(items, 4 * settings.batch_size), settings.prefetch):
            have = [it for it in group if it.value is not None]
            feats = encode_frames(
                source.encoder, [it.value for it in have], settings.batch_size, settings.precision
            )
            by_id = {it.id: source.project(f) for it, f in zip(have, feats)}
            for it in group:
                if it.value is None:
                    _write_missing(writer, it, dim, rate, "visual")
                    missing += 1
                else:
                    writer.write(it.id, _f16(by_id[it.id], it.id), rate_hz=rate)
                    present += 1
            bar.update(len(group))
    return present, missing


def _audio_items(ids: Sequence[str], media: MediaReader, sample_rate: int) -> Iterator[Item]:
    """Waves at ``sample_rate``, each with its visual time base attached."""
    for clip_id in ids:
        item = media.wave_of(clip_id, sample_rate)
        if item.value is not None:
            item.steps = media.step_times(clip_id, fallback_duration=len(item.value) / sample_rate)
        yield item


def _audio(ids, media, transcripts, writer, source: Source, dim, settings) -> tuple[int, int]:
    rate = media.frame_rate
    present = missing = 0
    with _progress(ids, "audio") as bar:
        if source.organiser_root is not None:
            for clip_id in ids:
                item = _organiser_on_steps(
                    source.organiser_root, "audio", clip_id, media, keep_raw=True
                )
                if item.value is None:
                    _write_missing(writer, item, dim, rate, "audio")
                    missing += 1
                else:
                    pooled, raw, raw_rate = item.value
                    extras = {"raw": _f16(raw, clip_id)} if settings.keep_raw_audio else None
                    writer.write(
                        clip_id, _f16(pooled, clip_id), extras, rate_hz=rate, raw_rate_hz=raw_rate
                    )
                    present += 1
                bar.update()
            return present, missing
        encoder = source.encoder
        window = int(settings.audio_window_s * encoder.sample_rate)
        items = _audio_items(ids, media, encoder.sample_rate)
        for group in prefetch(
            group_by_rows(items, settings.audio_batch_size * window), settings.prefetch
        ):
            have = [it for it in group if it.value is not None]
            outs = encode_waves(
                encoder,
                [it.value for it in have],
                settings.audio_batch_size,
                settings.audio_window_s,
                settings.precision,
            )
            by_id = {it.id: (source.project(f), t, it.steps) for it, (f, t) in zip(have, outs)}
            for it in group:
                if it.value is None:
                    _write_missing(writer, it, dim, rate, "audio")
                    missing += 1
                    continue
                feats, times, steps = by_id[it.id]
                extras = {"raw": _f16(feats, it.id)} if settings.keep_raw_audio else None
                writer.write(
                    it.id,
                    _f16(pool_to_steps(feats, times, steps), it.id),
                    extras,
                    rate_hz=rate,
                    raw_rate_hz=encoder.rate_hz,
                )
                present += 1
            bar.update(len(group))
    return present, missing


def _text(ids, media, transcripts, writer, source: Source, dim, settings) -> tuple[int, int]:
    items = [text_of(transcripts, i) for i in ids]
    have = [it for it in items if it.value is not None]
    tokens = encode_texts(
        source.encoder, [it.value for it in have], settings.text_batch_size, settings.precision
    )
    by_id = {it.id: source.project(t) for it, t in zip(have, tokens)}
    for it in items:
        if it.value is None:
            _write_missing(writer, it, dim, 0.0, "text")
        else:
            feats = by_id[it.id]
            writer.write(
                it.id,
                _f16(feats, it.id),
                {"cls": _f16(feats[0], it.id)},
                rate_hz=0.0,
                n_tokens=len(feats),
            )
    return len(have), len(items) - len(have)


def _organiser_on_steps(
    root: str, modality: str, clip_id: str, media: MediaReader, keep_raw: bool = False
) -> Item:
    """Organiser features of a clip pooled onto its visual time base (and the raw array + rate).

    The rows span the clip's duration: the manifest's probed duration, else the frames' span;
    organiser audio (wav2vec2, ~50 rows/s) with neither falls back to its nominal rate, so a clip
    whose video is broken keeps its audio (on a uniform grid at the frame rate).
    """
    path = organiser_path(root, modality, clip_id)
    if path is None:
        return Item(
            clip_id,
            None,
            f"no organiser file {Path(root) / ORGANISER_DIRS[modality] / clip_id}.pkl",
        )
    array = read_organiser_features(path)
    if len(array) == 0:
        return Item(clip_id, None, f"empty organiser features {path}")
    nominal = ORGANISER_RATES_HZ.get(modality)
    steps = media.step_times(clip_id, fallback_duration=len(array) / nominal if nominal else None)
    if steps is None:
        return Item(
            clip_id,
            None,
            f"{path}: no duration and no frames to place its {len(array)} rows in time",
        )
    duration = media.durations.get(clip_id)
    if duration is None or not np.isfinite(duration) or duration <= 0:
        duration = float(steps[-1]) + 1.0 / media.frame_rate
    rate = len(array) / duration
    pooled = pool_to_steps(torch.from_numpy(array), uniform_times(len(array), rate), steps)
    return Item(clip_id, (pooled, torch.from_numpy(array), rate) if keep_raw else pooled)


def _organiser_dim(root: str, modality: str, ids: Sequence[str]) -> int:
    """Feature width of the organiser files: from the shard's first file, else any file."""
    for clip_id in ids:
        path = organiser_path(root, modality, clip_id)
        if path is not None:
            return int(read_organiser_features(path).shape[1])
    for path in sorted((Path(root) / ORGANISER_DIRS[modality]).glob("*.pkl"))[:1]:
        return int(read_organiser_features(path).shape[1])
    raise FileNotFoundError(f"no organiser .pkl files in {Path(root) / ORGANISER_DIRS[modality]}")

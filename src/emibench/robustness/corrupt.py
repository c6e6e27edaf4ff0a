"""A condition's stores for one shard: corrupted frames, audio and transcripts (``emibench corrupt``).

Every clip of the clean store keeps an entry in the condition's store, in the same layout
(docs/architecture.md), with its clean attributes, ``condition`` and what the ops did (e.g.
``occluded_frames``, ``snr_db_applied``). A clip missing in the clean store stays missing with its
reason; a clip whose frames are all dropped, or whose audio is removed, becomes a missing entry
whose reason names the condition. Store attributes add ``condition``, ``condition_spec`` (the ops
with every parameter, JSON), ``robustness_seed``, ``clean_store``, ``split`` and ``shard``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from emibench.data.store import DATA, SequenceWriter
from emibench.data.tables import read_table, write_table
from emibench.media.shard_jobs import ShardReport
from emibench.robustness import audio, vision
from emibench.robustness.seeding import clip_rng
from emibench.robustness.spec import Condition

log = logging.getLogger(__name__)


def _present_clips(
    source: h5py.File, store: SequenceWriter, condition: Condition, report: ShardReport, empty: str
) -> Iterator[tuple[str, np.ndarray, dict[str, np.ndarray], dict[str, Any]]]:
    """``(clip_id, data, extras, attrs)`` of each clip with data; ``attrs`` (the clean store's
    ``reason`` included, ``missing`` left out) name the condition.

    A clip missing in the clean store, or empty (``empty`` says of what), is written as missing
    and reported, and not yielded.
    """
    for clip_id in tqdm(sorted(source), desc=report.what, unit="clip", mininterval=1.0):
        group = source[clip_id]
        data = group[DATA][()]
        extras = {name: group[name][()] for name in group if name != DATA}
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in group.attrs.items()}
        attrs.update(condition=condition.name, reason=attrs.get("reason", ""))
        if attrs.pop("missing", False) or len(data) == 0:
            store.write(clip_id, data, extras, missing=True, **attrs)
            report.miss(clip_id, attrs.get("reason") or empty, "missing_in_clean_store")
            continue
        yield clip_id, data, extras, attrs


def _store_attrs(
    source: h5py.File, condition: Condition, seed: int, path: str | Path, split: str, shard: int
) -> dict[str, Any]:
    attrs = dict(source.attrs)
    attrs.update(
        condition=condition.name,
        condition_spec=condition.to_json(),
        robustness_seed=int(seed),
        clean_store=str(path),
        split=split,
        shard=int(shard),
    )
    return attrs


def _removed(condition: Condition, what: str) -> str:
    return f"{what} by condition {condition.name}"


def _count_removed(report: ShardReport, note: str) -> None:
    """Count a clip the condition made missing on purpose (no warning per clip)."""
    report.missing += 1
    report.notes[note] += 1


def corrupt_frames(
    condition: Condition,
    seed: int,
    src: str | Path,
    out: str | Path,
    split: str,
    shard: int,
) -> ShardReport:
    """Apply the condition's vision ops, in order, to every clip of the frames store ``src``.

    Extras with one entry per frame (``timestamps``, ``face``) follow dropped frames; ``occlude``
    adds a per-frame bool extra ``occluded``.
    """
    report = ShardReport(f"corrupt[{condition.name}] frames", split, shard)
    with (
        h5py.File(src, "r") as source,
        SequenceWriter(out, **_store_attrs(source, condition, seed, src, split, shard)) as store,
    ):
        for clip_id, data, extras, attrs in _present_clips(
            source, store, condition, report, "no frames"
        ):
            for op in condition.vision_ops:
                rng = clip_rng(seed, condition.name, clip_id, op.index)
                if op.name == "drop_frames":
                    n = len(data)
                    keep, info = vision.drop_frames(n, op.params, rng)
                    data = data[keep]
                    extras = {k: v[keep] if v.shape[:1] == (n,) else v for k, v in extras.items()}
                elif op.name == "occlude":
                    data, info = vision.occlude(data, op.params, rng)
                    extras["occluded"] = info.pop("occluded")
                elif op.name == "blur":
                    data, info = vision.blur(data, op.params)
                else:
                    data, info = vision.low_light(data, op.params, rng)
                attrs.update(info)
                report.totals.update({k: v for k, v in info.items() if k.endswith("_frames")})
            if len(data) == 0:
                why = _removed(condition, "all frames dropped")
                attrs.pop("reason")
                store.write_missing(clip_id, data.shape[1:], np.uint8, why, **attrs)
                _count_removed(report, "all_frames_dropped")
                continue
            store.write(clip_id, data, extras, **attrs)
            report.ok()
    return report


def _babble_pools(source: h5py.File, default_rate: int) -> dict[int, audio.BabblePool]:
    """One pool per sample rate of the clips with audio (not missing, not digital silence)."""
    by_rate: dict[int, list[str]] = {}
    for clip_id in source:
        group = source[clip_id]
        wave = group[DATA][()]
        if group.attrs.get("missing", False) or len(wave) == 0:
            continue
        if float(np.abs(wave).max()) < audio.SILENCE_PEAK:
            continue
        rate = int(group.attrs.get("sample_rate", default_rate))
        by_rate.setdefault(rate, []).append(clip_id)
    return {
        rate: audio.BabblePool(ids, lambda c: source[c][DATA][()]) for rate, ids in by_rate.items()
    }


def corrupt_audio(
    condition: Condition,
    seed: int,
    src: str | Path,
    out: str | Path,
    split: str,
    shard: int,
) -> ShardReport:
    """Apply the condition's audio ops to every clip of the audio store ``src``.

    Babble is made of the other clips of ``src`` (the same shard of the same split) at the clip's
    sample rate, taken from the clean store.
    """
    report = ShardReport(f"corrupt[{condition.name}] audio", split, shard)
    with (
        h5py.File(src, "r") as source,
        SequenceWriter(out, **_store_attrs(source, condition, seed, src, split, shard)) as store,
    ):
        default_rate = int(source.attrs.get("rate_hz", 16000))
        noise = condition.op("noise")
        pools = _babble_pools(source, default_rate) if noise else {}
        snrs = []
        for clip_id, wave, extras, attrs in _present_clips(
            source, store, condition, report, "no samples"
        ):
            if condition.op("remove_audio"):
                why = _removed(condition, "removed")
                attrs.update(source="none", removed=True)
                attrs.pop("reason")
                store.write_missing(clip_id, (), np.float32, why, **attrs)
                _count_removed(report, "removed")
                continue
            if noise:
                rate = int(attrs.get("sample_rate", default_rate))
                rng = clip_rng(seed, condition.name, clip_id, noise.index)
                wave, info = audio.add_noise(
                    wave, rate, noise.params, rng, clip_id, pools.get(rate)
                )
                attrs.update(info)
                if np.isfinite(info["snr_db_applied"]):
                    snrs.append(info["snr_db_applied"])
                report.ok(info.get("noise_note", "").replace(" ", "_"))
            else:
                report.ok()
            store.write(clip_id, wave, extras, **attrs)
        if snrs:
            report.totals.update(
                noisy_clips=len(snrs), mean_snr_db=round(float(np.mean(snrs)), 3) + 0.0
            )
    return report


def corrupt_transcripts(condition: Condition, src: str | Path, out: str | Path) -> pd.DataFrame:
    """The condition's transcript table: every row emptied with status ``removed`` (remove_text),
    else the clean table unchanged (a pass-through copy)."""
    table = read_table(src)
    if condition.text == "removed":
        table["text"] = ""
        table["language"] = ""
        table["confidence"] = np.nan
        table["status"] = "removed"
        table["reason"] = _removed(condition, "removed")
    elif condition.text == "asr":
        raise ValueError(
            f"condition {condition.name}: its transcripts come from `emibench transcribe` on the "
            "condition's audio store, not from corrupt"
        )
    write_table(table, out)
    return table

"""What each system and variant costs, from measured files only.

Sources, per (system, variant) of the results table (its runs' folders, one per seed):

- the run record (``metrics.json``, emibench.evaluate.record): its ``kind``, ``n_params``
  (every parameter of the model, encoders it holds included), ``n_encoder_params`` (those of its
  encoders) and ``config.train.encoder_lr`` (0: the encoders stay frozen), the ``device``, and for
  fused and late-fusion runs ``config.members``;
- ``timing.json`` (``emibench.evaluate.run_files``): fitting seconds, and seconds of predicting
  every clip of every split with the clip count, averaged over seeds;
- the Snakemake benchmark file of the job that trained (or stacked) all seeds of the pair:
  ``max_rss`` (MB, peak resident memory as Snakemake samples it: every 0.5 s for the first 15 s,
  then every 30 s, so a lower bound of the true peak);
- for runs on the ``stage1`` feature set, the benchmark files of the Stage I jobs (contrastive
  fine-tuning of the encoders, then the extraction of their features), per Stage I seed.

A fused run (an average of other runs) has no job or model of its own: its costs are those of its
members. A late-fusion run adds its own regressor to its members'. Parameters and times of members
are summed, peak memory is the largest job's (the jobs run one after another).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table
from emibench.evaluate.record import RunRecord, read_record
from emibench.evaluate.run_files import read_timing
from emibench.report.collect import run_dirs

log = logging.getLogger(__name__)

TRAINED, STACKED, FUSED = "trained", "stacked", "fused"
BENCH_COLUMNS = ("s", "max_rss")
COLUMNS = [
    "system",
    "variant",
    "kind",
    "device",
    "members",
    "n_seeds",
    "n_params",
    "n_trained_params",
    "n_encoder_params_trained",
    "train_seconds",
    "peak_rss_mb",
    "predict_ms_per_clip",
    "stage1_seconds",
    "stage1_peak_rss_mb",
]


def read_benchmark(path: str | Path) -> dict[str, float]:
    """A Snakemake benchmark TSV: ``seconds`` (mean wall time over its rows, one per repeat) and
    ``max_rss_mb`` (the largest sampled peak; NaN where Snakemake wrote ``-``: no sample)."""
    frame = read_table(path)
    missing = [c for c in BENCH_COLUMNS if c not in frame.columns]
    if missing or frame.empty:
        raise ValueError(f"{path}: not a Snakemake benchmark file (needs rows and {missing})")
    values = {}
    for column in BENCH_COLUMNS:
        raw = frame[column].astype(str).str.strip()
        numbers = pd.to_numeric(raw.where(~raw.isin(["-", "NA", ""])), errors="coerce")
        bad = raw[numbers.isna() & ~raw.isin(["-", "NA", ""])]
        if len(bad):
            raise ValueError(f"{path}: column {column!r} holds {bad.iloc[0]!r}, not a number")
        values[column] = numbers
    if values["s"].isna().all():
        raise ValueError(f"{path}: no wall time in column 's'")
    rss = values["max_rss"]
    return {
        "seconds": float(values["s"].mean()),
        "max_rss_mb": float(rss.max()) if rss.notna().any() else math.nan,
    }


@dataclass
class Cost:
    """One (system, variant): its own costs, then (``total``) with its members'."""

    kind: str
    devices: set[str]
    members: tuple[str, ...]
    n_seeds: int
    n_params: float
    n_trained: float
    n_encoder_trained: float
    train_seconds: float
    predict_ms: float
    peak_rss_mb: float
    stage1: bool


KINDS = {"model": TRAINED, "stack": STACKED, "fuse": FUSED}


def _members(record: RunRecord, where: Path) -> tuple[str, ...]:
    names = record.config.get("members")
    if not isinstance(names, list) or not names:
        raise KeyError(f"{where}: a fused or late-fusion run needs config.members")
    return tuple(dict.fromkeys(name.rsplit("/", 1)[0] for name in names))


def own_cost(dirs: list[Path], benchmark: str | Path | None) -> Cost:
    """The costs of one (system, variant) alone from its seeds' run folders ``dirs`` and the
    benchmark file of its job (None for a fused run, which has no job of its own)."""
    records = [read_record(d) for d in dirs]
    first, where = records[0], dirs[0] / "metrics.json"
    kind = KINDS[first.kind]
    members = () if kind == TRAINED else _members(first, where)
    if kind == FUSED:
        return Cost(FUSED, set(), members, len(dirs), 0, 0, 0, 0.0, 0.0, math.nan, False)
    if benchmark is None:
        raise KeyError(
            f"{first.system}/{first.variant}: no benchmark file of its "
            f"{'stack' if kind == STACKED else 'train'} job was given (--benchmarks)"
        )
    encoder_lr = float(first.config.get("train", {}).get("encoder_lr", 0.0))
    trained_encoder = first.n_encoder_params if encoder_lr > 0 else 0
    timings = [read_timing(d) for d in dirs]
    return Cost(
        kind,
        {r.device for r in records},
        members,
        len(dirs),
        first.n_params,
        first.n_params - first.n_encoder_params + trained_encoder,
        trained_encoder,
        float(np.mean([t["train_seconds"] for t in timings])),
        float(np.mean([1e3 * t["predict_seconds"] / t["n_predicted_clips"] for t in timings])),
        read_benchmark(benchmark)["max_rss_mb"],
        first.features == "stage1",
    )


def stage1_cost(benchmarks: dict[str, list[str | Path]]) -> tuple[float, float]:
    """(wall seconds of the Stage I jobs of one Stage I seed, summed over its pairs and averaged
    over seeds; the largest peak memory in MB) from ``{stage I seed: benchmark files}``."""
    if not benchmarks:
        return math.nan, math.nan
    per_seed, peaks = [], []
    for paths in benchmarks.values():
        found = [read_benchmark(p) for p in paths]
        per_seed.append(sum(b["seconds"] for b in found))
        peaks += [b["max_rss_mb"] for b in found if not math.isnan(b["max_rss_mb"])]
    return float(np.mean(per_seed)), max(peaks) if peaks else math.nan


def cost_frame(
    results: pd.DataFrame,
    benchmarks: dict[str, str | Path],
    stage1_benchmarks: dict[str, list[str | Path]] | None = None,
) -> pd.DataFrame:
    """tables/costs.csv: one row per (system, variant) of ``results`` (COLUMNS), the costs of a
    fused or late-fusion row including its members'. ``benchmarks`` maps ``system/variant`` to
    the benchmark file of its train or stack job; ``stage1_benchmarks`` a Stage I seed to the
    benchmark files of its jobs."""
    pairs = list(dict.fromkeys(zip(results["system"], results["variant"])))
    own = {
        f"{s}/{v}": own_cost(run_dirs(results, s, v), benchmarks.get(f"{s}/{v}")) for s, v in pairs
    }
    unknown = sorted(set(benchmarks) - set(own))
    if unknown:
        raise KeyError(f"--benchmarks: {unknown} are not system/variant pairs of the results")
    stage1_seconds, stage1_peak = stage1_cost(stage1_benchmarks or {})

    def total(name: str, seen: tuple[str, ...] = ()) -> Cost:
        if name not in own:
            raise KeyError(f"{seen[-1]}: member {name} has no runs in the results table")
        if name in seen:
            raise ValueError(f"members form a cycle: {' -> '.join((*seen, name))}")
        cost = own[name]
        parts = [total(m, (*seen, name)) for m in cost.members]
        peaks = [c.peak_rss_mb for c in (cost, *parts) if not math.isnan(c.peak_rss_mb)]
        return Cost(
            cost.kind,
            cost.devices.union(*(c.devices for c in parts)),
            cost.members,
            cost.n_seeds,
            cost.n_params + sum(c.n_params for c in parts),
            cost.n_trained + sum(c.n_trained for c in parts),
            cost.n_encoder_trained + sum(c.n_encoder_trained for c in parts),
            cost.train_seconds + sum(c.train_seconds for c in parts),
            cost.predict_ms + sum(c.predict_ms for c in parts),
            max(peaks) if peaks else math.nan,
            cost.stage1 or any(c.stage1 for c in parts),
        )

    records = []
    for system, variant in pairs:
        cost = total(f"{system}/{variant}")
        records.append(
            {
                "system": system,
                "variant": variant,
                "kind": cost.kind,
                "device": " + ".join(sorted(cost.devices)),
                "members": " + ".join(cost.members),
                "n_seeds": cost.n_seeds,
                "n_params": cost.n_params,
                "n_trained_params": cost.n_trained,
                "n_encoder_params_trained": cost.n_encoder_trained,
                "train_seconds": cost.train_seconds,
                "peak_rss_mb": cost.peak_rss_mb,
                "predict_ms_per_clip": cost.predict_ms,
                "stage1_seconds": stage1_seconds if cost.stage1 else math.nan,
                "stage1_peak_rss_mb": stage1_peak if cost.stage1 else math.nan,
            }
        )
    return pd.DataFrame(records, columns=COLUMNS)


def device_label(devices: str) -> str:
    """``cpu`` -> ``CPU``, ``cuda``/``cuda:0`` -> ``GPU``; several joined by ``+``."""
    labels = []
    for device in str(devices).split(" + "):
        label = "GPU" if device.startswith("cuda") else device.upper()
        if label and label not in labels:
            labels.append(label)
    return "+".join(labels)

"""The capacity plan of config/vidmimic2.yaml at the real set's size, from committed measurements.

    python benchmarks/capacity.py                       # print the plan's tables (Markdown)
    python benchmarks/capacity.py --rehearsal-benchmarks RESULTS/rehearsal/benchmarks
                                                        # refresh docs/scale-rehearsal-jobs.csv

Nothing is run: every figure is read from the committed measurements or computed from the config
and the code's data layout (docs/scale.md, "Capacity plan", says which is which):

- docs/scale-ladder-growth.csv: the clip-count ladder of benchmarks/scale.py (per rule: cpu_time
  and wall summed over its jobs, max_rss maxed; tiny 32-wide models; fitted exponent b; the
  clips per split and seconds of media of every size).
- docs/scale-ladder-disk.csv: bytes per media second (per clip for text) of every store at the
  real config's widths (benchmarks/scale.py ``disk_model``).
- docs/scale-rehearsal-jobs.csv: max_rss, cpu_time and wall of every job of a paper-size
  rehearsal (tests/rehearsal/run.sh: the real models' architectures, 10 clips, CPU), so the
  fixed memory of a job with its real-size models.
- config/vidmimic2.yaml and its plan (emibench.plan.Plan): shards, seeds, variants, the stores
  every train and predict job reads, the robustness conditions, ``resources``.

Memory per job at full size = the job's memory with its real-size models on a tiny root (the
rehearsal) + what the code keeps in memory that grows with the job's clips (computed: the stores
a train or predict job loads whole, the bounded read-ahead of a streaming job) + an assumed CUDA
allowance for GPU jobs. CPU hours per rule: the ladder's cpu_time at its largest size extrapolated
with its fitted b (cost = a * units^b) and, as an upper bound, linearly. GPU hours: formulas in the
rates ``emibench bench features`` and ``bench train`` print on a GPU, with a worked example at
assumed rates (no GPU was lent: none of them is measured).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
GROWTH_CSV = REPO / "docs/scale-ladder-growth.csv"
DISK_CSV = REPO / "docs/scale-ladder-disk.csv"
REHEARSAL_CSV = REPO / "docs/scale-rehearsal-jobs.csv"
GB = 1e9

REAL_SPLITS = {"train": 8072, "valid": 4588, "test": 4586}
REAL_CLIPS = sum(REAL_SPLITS.values())
REAL_SECONDS = 33 * 3600 + 23 * 60  # 33 h 23 min
# no GPU was lent: the host memory a CUDA job adds for the CUDA context and libraries (cuBLAS,
# cuDNN) is an assumption, not a measurement
CUDA_HOST_GB = 2.0
# Wav2Vec2's frames per second (16 kHz / conv hop 320); a Whisper window
NATIVE_HZ = 50.0
WHISPER_WINDOW_S = 30.0
# profiles/slurm: rules on the gpu partition (the others run on CPUs)
GPU_RULES = {
    "features",
    "features_visual",
    "stage1",
    "train",
    "transcribe",
    "transcribe_set",
    "robustness_features",
    "robustness_predict",
    "robustness_transcribe",
    "robustness_transcribe_set",
}
# rule -> the resources.steps entry whose mem_mb it asks for (workflow/rules/*.smk
# step_resource); rules without one take the executor's default (profiles/slurm: 2,000 MB)
RULE_STEP = {
    "manifest": "manifest",
    "frames": "frames",
    "audio": "audio",
    "transcribe": "transcribe",
    "transcribe_set": "transcribe",
    "robustness_transcribe": "transcribe",
    "robustness_transcribe_set": "transcribe",
    "features": "features",
    "features_visual": "features",
    "robustness_features": "features",
    "stage1": "stage1",
    "train": "train",
    "stack": "stack",
    "robustness_predict": "predict",
}
EXECUTOR_DEFAULT_MB = 2000
# the rehearsal runs TAEMI's transcript set with Whisper large-v3-turbo instead of large-v3
# (tests/rehearsal/rehearsal.yaml): large-v3's extra decoder layers, as fp32 weights in host
# memory (parameter counts of docs/rehearsal.md: 1,543.5 M against 808.9 M)
LARGE_V3_EXTRA_BYTES = (1543.5e6 - 808.9e6) * 4


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCALE = _module("bench_scale", REPO / "benchmarks/scale.py")


# --- the committed measurements -------------------------------------------------------------


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


class Ladder(NamedTuple):
    """The ladder's CSV: its clip counts, its largest size's clips per split and seconds of media
    (all, valid), and per rule and metric (cpu_s, wall_s, max_rss_mb) ``values`` at every size,
    ``top`` (at the largest), ``b`` and ``b_last_two``."""

    sizes: tuple[int, ...]
    splits: dict[str, float]
    seconds: dict[str, float]
    rules: dict[str, dict[str, dict[str, Any]]]

    @property
    def clips(self) -> int:
        return self.sizes[-1]


def read_ladder(path: str | Path = GROWTH_CSV) -> Ladder:
    rows = read_csv(path)
    sizes = tuple(sorted(int(k[1:]) for k in rows[0] if re.fullmatch(r"n\d+", k)))

    def number(value: str) -> float:
        return float(value) if value not in ("", "nan") else math.nan

    def figures(row: Mapping[str, str]) -> dict[str, Any]:
        values = tuple(number(row[f"n{size}"]) for size in sizes)
        return {
            "values": values,
            "top": values[-1],
            "b": number(row["b"]),
            "b_last_two": number(row["b_last_two"]),
        }

    run = {row["key"]: figures(row)["top"] for row in rows if row["table"] == "run"}
    rules: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row["table"] == "rule":
            rules.setdefault(row["key"], {})[row["metric"]] = figures(row)
    try:
        splits = {split: run[f"clips ({split})"] for split in REAL_SPLITS}
        seconds = {scope: run[f"media s ({scope})"] for scope in ("all", "valid")}
    except KeyError as missing:
        raise SystemExit(f"{path}: no run row {missing} (rerun benchmarks/scale.py --no-run)")
    return Ladder(sizes, splits, seconds, rules)


def disk_rates(path: str | Path = DISK_CSV) -> dict[str, float]:
    """{store: bytes per media second, or per clip (text, its max_length bound)} at the real
    config's widths, from the disk CSV."""
    return {
        row["store"]: float(row["real_per"])
        for row in read_csv(path)
        if row["real_per"] not in ("", None)
    }


def rehearsal_jobs(path: str | Path = REHEARSAL_CSV) -> dict[str, dict[str, float]]:
    """{rule/job: {max_rss_mb, cpu_s, wall_s}} of the paper-size rehearsal's benchmark files."""
    return {
        row["job"]: {k: float(row[k]) for k in ("max_rss_mb", "cpu_s", "wall_s")}
        for row in read_csv(path)
    }


def rehearsal_rule_rss(jobs: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for job, figures in jobs.items():
        rule = job.split("/")[0]
        out[rule] = SCALE.larger(out.get(rule, 0.0), figures["max_rss_mb"])
    return out


def write_rehearsal_csv(bench_dir: str | Path, out: str | Path = REHEARSAL_CSV) -> int:
    """docs/scale-rehearsal-jobs.csv from a rehearsal's results/<dataset>/benchmarks folder."""
    rows = []
    for path in sorted(Path(bench_dir).glob("*/*.tsv")):
        record = SCALE.read_benchmark(path)
        rows.append(
            {
                "job": f"{path.parent.name}/{path.stem}",
                "max_rss_mb": record["max_rss_mb"],
                "cpu_s": record["cpu_s"],
                "wall_s": record["wall_s"],
            }
        )
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["job", "max_rss_mb", "cpu_s", "wall_s"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# --- the real config and its plan -----------------------------------------------------------


_ROOT: tempfile.TemporaryDirectory | None = None


def real_plan(*extra: str | Path):
    """(config, plan) of config/vidmimic2.yaml (over config/config.yaml, with ``extra`` files
    laid over it) on a root that holds the organisers' vit/ and wav2vec2/ folders, as the real
    set does (the plan skips runs on organiser features under conditions that change them)."""
    sys.path.insert(0, str(REPO / "tests"))
    from emibench.plan import Plan
    from plan_fakes import workflow_paths

    global _ROOT
    if _ROOT is None:
        _ROOT = tempfile.TemporaryDirectory(prefix="emibench-capacity-")  # removed at exit
        for folder in ("vit", "wav2vec2"):
            (Path(_ROOT.name) / folder).mkdir()
            (Path(_ROOT.name) / folder / "00000.pkl").write_bytes(b"")
    config = SCALE.load_real_config(_ROOT.name, *extra)
    return config, Plan(config, workflow_paths(config), check_models_now=False)


class Scope(NamedTuple):
    """The clips a job reads: their count and seconds of media."""

    clips: float
    seconds: float


def scope(split: str | None = None) -> Scope:
    """All splits (None) or one split of the real set, at the set's mean clip length."""
    if split is None:
        return Scope(REAL_CLIPS, REAL_SECONDS)
    return Scope(REAL_SPLITS[split], REAL_SECONDS * REAL_SPLITS[split] / REAL_CLIPS)


def featset_store(path: str) -> tuple[str, str]:
    """('features/<set>/<modality>' as the disk CSV names it, modality) of a store path."""
    parts = path.split("/")
    i = parts.index("features")
    featset, modality = parts[i + 1], parts[i + 2]
    if featset.startswith("stage1_seed"):
        featset = "stage1"
    return f"features/{featset}/{modality}", modality


def loaded_bytes(
    key: str,
    paths: Sequence[str],
    where: Scope,
    rates: Mapping[str, float],
    config: Mapping[str, Any],
    train: Mapping[str, Any],
    model: Mapping[str, Any] | None = None,
    share: float = 1.0,
) -> float:
    """Bytes ``emibench.train.data.load_run_data`` keeps for one store key of a run, for the
    clips of ``where``: float16 feature rows (V: one per frame, floor(5 d) + 1 a clip; A: the
    pooled rows likewise, or Wav2Vec2's ~50 a second with ``audio_rate: native``; T: its tokens,
    at most max_length + 1 rows, plus CLS), each clip capped at ``max_steps`` rows; raw audio
    (``wave``) as float16 16 kHz samples cut to ``max_audio_s``; token ids (``text``) as int64.
    ``share``: the condition's share of the rows (dropped frames), 0 for removed media.
    The caps are applied to the totals (sum of min <= min of sums), so each figure is a bound."""
    rate = float(config["preprocess"]["frames"]["rate_hz"])
    max_steps = int(train.get("max_steps", 0) or 0)
    cap = max_steps * where.clips if max_steps > 0 else math.inf
    if key == "wave":
        sample_rate = int(config["preprocess"]["audio"]["sample_rate"])
        cut = float((model or {}).get("max_audio_s", 12.0))
        return share * min(where.seconds, cut * where.clips) * sample_rate * 2
    if key == "text":
        tokens = int(config["encoders"]["taemi_text"]["max_length"])
        return share * where.clips * tokens * 8
    store, modality = featset_store(paths[0])
    per = rates[store]
    if modality == "visual":
        row = per / rate
        return share * row * min(rate * where.seconds + where.clips, cap)
    if modality == "audio":
        row = per / (rate + NATIVE_HZ)
        if train.get("audio_rate", "visual") == "native":
            rows = NATIVE_HZ * where.seconds
        else:
            rows = rate * where.seconds + where.clips
        return share * row * min(rows, cap)
    # text: per is the bound per clip, (max_length + 1) rows; CLS is one row more
    max_length = int(config["encoders"]["text"]["max_length"])
    row = per / (max_length + 1)
    return share * where.clips * (per + row)


def train_loads(config, plan, rates) -> list[dict[str, Any]]:
    """Per train job (system/variant): the bytes it keeps in memory at full size. A job trains
    every seed in one process; seeds on the stage1 sets read their own Stage I seed's stores, so
    they load separately, and each load is freed after the last seed that reads it
    (emibench.train.trainer.train_runs): the job holds its largest load at a time."""
    out = []
    for (system, variant), v in plan.variants.items():
        if v.kind != "model":
            continue
        job = plan.runs_job(system, variant)
        train, model = v.config["train"], v.config.get("model")
        loads: dict[tuple, dict[str, float]] = {}
        for run in job.runs:
            key = tuple((m, tuple(p)) for m, p in sorted(run.stores.items()))
            if key not in loads:
                loads[key] = {
                    m: loaded_bytes(m, p, scope(), rates, config, train, model)
                    for m, p in run.stores.items()
                }
        totals = [sum(load.values()) for load in loads.values()]
        out.append(
            {
                "job": f"{system}/{variant}",
                "loads": len(loads),
                "per_load": next(iter(loads.values())),
                "bytes": max(totals),
                "one_load": max(totals),
                "audio_rate": train.get("audio_rate", "visual"),
            }
        )
    return out


def condition_share(plan, condition: str, path: str, modality: str) -> float:
    """The share of a clean store's rows a condition's store holds (1 for clean stores)."""
    if f"/robustness/{condition}/" not in path:
        return 1.0
    ops = {op.name: op for op in plan.conditions[condition].ops}
    if "remove_audio" in ops and modality in ("audio", "wave"):
        return 0.0
    if "remove_text" in ops and modality in ("text", "T"):
        return 0.0
    if "drop_frames" in ops and modality in ("visual", "V"):
        return 1.0 - float(ops["drop_frames"].params.share)
    return 1.0


def predict_loads(config, plan, rates) -> list[dict[str, Any]]:
    """Per robustness condition: the bytes its predict job keeps in memory at full size. Every
    trained run predicts the condition's splits; runs reading the same stores with the same data
    options share one load, and the runs go grouped by the stores they read, a group's loads
    freed when the next starts (emibench.train.predict.predict_runs): the job holds its largest
    group at a time."""
    splits = list(plan.robust_splits)
    out = []
    for condition in plan.conditions:
        job = plan.predict_job(condition)
        loads: dict[tuple, float] = {}
        for run in job.runs:
            if run.kind != "model":
                continue
            v = next(
                var
                for var in plan.variants.values()
                if run.run_dir.startswith(_run_prefix(plan, var))
            )
            train = v.config["train"]
            stores = job.run_stores(run)
            key = (
                tuple(sorted(run.stores.items())),
                train.get("max_steps", 0),
                train.get("audio_rate", "visual"),
                tuple(v.raw_modalities),
            )
            if key in loads:
                continue
            total = 0.0
            for m, paths in stores.items():
                modality = {"V": "visual", "A": "audio", "T": "text"}.get(m, m)
                share = condition_share(plan, condition, paths[0], modality)
                for split in splits:
                    total += loaded_bytes(
                        m, paths, scope(split), rates, config, train, v.config.get("model"), share
                    )
            loads[key] = total
        groups: dict[tuple, float] = {}
        for key, total in loads.items():
            groups[key[0]] = groups.get(key[0], 0.0) + total
        out.append(
            {
                "condition": condition,
                "loads": len(loads),
                "bytes": max(groups.values()),
                "one_load": max(loads.values()),
            }
        )
    return out


def _run_prefix(plan, variant) -> str:
    return plan.run_dir(variant.system, variant.variant, 0).rsplit("/", 1)[0] + "/"


def train_fixed_mb(rehearsal: Mapping[str, Mapping[str, float]], job: str, floor: float) -> float:
    """A train job's max_rss in the rehearsal (its real-size models), at least ``floor``."""
    figures = rehearsal.get(f"train/{job.replace('/', '_')}", {})
    return SCALE.larger(figures.get("max_rss_mb", 0.0), floor)


# --- memory per job -------------------------------------------------------------------------


def step_mem_mb(config: Mapping[str, Any], rule: str) -> int:
    """The mem_mb a rule's jobs ask for under config/vidmimic2.yaml."""
    step = RULE_STEP.get(rule)
    if step is None:
        return EXECUTOR_DEFAULT_MB
    resources = config["resources"]
    return int(resources["steps"].get(step, {}).get("mem_mb", resources["mem_mb"]))


def per_job_units(rule: str, config: Mapping[str, Any], ladder: Ladder) -> tuple[str, float, float]:
    """(what one job's clips are, the real config's largest job, the ladder's largest job)."""
    shards = config["shards"]
    per_shard = max(math.ceil(REAL_SPLITS[s] / int(shards[s])) for s in REAL_SPLITS)
    if rule in ("frames", "audio", "transcribe", "transcribe_set"):
        return "clips per shard", per_shard, max(ladder.splits.values())
    if rule in ("robustness_frames", "robustness_audio"):
        return "valid clips", REAL_SPLITS["valid"], ladder.splits["valid"]
    if rule in ("robustness_transcribe", "robustness_transcribe_set"):
        valid = math.ceil(REAL_SPLITS["valid"] / int(shards["valid"]))
        return "valid clips per shard", valid, ladder.splits["valid"]
    if rule in ("features", "features_visual"):
        return "clips per split", REAL_SPLITS["train"], ladder.splits["train"]
    if rule == "robustness_features":
        return "valid clips", REAL_SPLITS["valid"], ladder.splits["valid"]
    if rule == "robustness_predict":
        return "valid clips", REAL_SPLITS["valid"], ladder.splits["valid"]
    return "clips", REAL_CLIPS, ladder.clips


def read_ahead_bytes(config: Mapping[str, Any]) -> dict[str, float]:
    """Bounded buffers of the streaming jobs at the real config's settings (computed).

    frames: one clip's sampled frames at most (max_frames x size^2 x 3 uint8); audio: one clip's
    wave at most (max_seconds at 16 kHz float32) and its source decoded at 48 kHz stereo float32;
    features: the reader thread's groups in flight (prefetch queued + one being read + one being
    encoded), each 4 x batch_size frames plus the frames of the clip that completes it, and one
    float32 batch; Stage I: one batch of clips' frames at the mean clip length and one float32
    batch of frames.
    """
    frames, audio, feats = (
        config["preprocess"]["frames"],
        config["preprocess"]["audio"],
        config["features"],
    )
    frame = int(frames["size"]) ** 2 * 3
    clip_frames = int(frames["max_frames"]) * frame
    groups = int(feats["prefetch"]) + 2
    group = (4 * int(feats["batch_size"]) + int(frames["max_frames"]) - 1) * frame
    float_batch = int(feats["batch_size"]) * frame * 4
    mean_frames = float(frames["rate_hz"]) * REAL_SECONDS / REAL_CLIPS + 1
    stage1_batch = int(config["stage1"]["batch_size"]) * mean_frames * frame
    return {
        "frames": clip_frames,
        "audio": float(audio["max_seconds"]) * (16000 * 4 + 48000 * 2 * 4),
        "features": groups * group + float_batch,
        "stage1": stage1_batch + float_batch,
    }


def memory_plan(
    config, plan, rates, ladder, rehearsal, trains=None, predicts=None
) -> list[dict[str, Any]]:
    """Per rule: the ladder's max_rss and b, its power-law extrapolation to the real job's clips,
    the rehearsal's max_rss (real-size models), what grows with the job at full size, the
    estimate and the mem_mb asked."""
    reh = rehearsal_rule_rss(rehearsal)
    ahead = read_ahead_bytes(config)
    trains = train_loads(config, plan, rates) if trains is None else trains
    predicts = predict_loads(config, plan, rates) if predicts is None else predicts
    rows = []
    for rule, metrics in sorted(ladder.rules.items()):
        rss = metrics["max_rss_mb"]
        unit, real_units, ladder_units = per_job_units(rule, config, ladder)
        # the fit over the two largest sizes (where fixed costs weigh less), never below 0
        b_rss = rss["b_last_two"] if not math.isnan(rss["b_last_two"]) else rss["b"]
        power = rss["top"] * (real_units / ladder_units) ** max(b_rss, 0.0)
        fixed_mb = SCALE.larger(reh.get(rule, 0.0), rss["top"])
        grows, how = 0.0, "tables of a row a clip (MB at 17,246 clips)"
        if rule == "manifest":
            # a pool of `threads` probe processes; the ladder ran 2 (--cores 2): scaling its
            # whole figure by the workers is an upper bound
            workers = int(config["resources"]["steps"]["manifest"]["threads"])
            grows = rss["top"] * 1e6 * (workers / 2 - 1)
            how = f"{workers} probe processes instead of the ladder's 2 (its RSS x {workers / 2:g})"
        elif rule in ("frames", "robustness_frames"):
            grows, how = ahead["frames"], "one clip's frames at max_frames"
        elif rule in ("audio", "robustness_audio"):
            grows, how = ahead["audio"], "one clip's wave at max_seconds, and its 48 kHz source"
        elif rule in ("features", "features_visual", "robustness_features"):
            grows = ahead["features"]
            how = (
                "read-ahead: frame groups in flight, a float32 batch (streams: RSS flat over "
                "960 clips, benchmarks/stream_rss.py)"
            )
        elif rule == "stage1":
            grows, how = ahead["stage1"], "one batch of clips' frames (mean length), float32 batch"
        elif rule == "train":
            for t in trains:
                t["fixed_mb"] = train_fixed_mb(rehearsal, t["job"], rss["top"])
                t["estimate_gb"] = (t["fixed_mb"] * 1e6 + t["bytes"]) / GB + CUDA_HOST_GB
            worst = max(trains, key=lambda t: t["estimate_gb"])
            grows, fixed_mb = worst["bytes"], worst["fixed_mb"]
            how = f"stores loaded whole: {worst['job']}, {worst['loads']} loads (seeds), one at a time"
        elif rule == "robustness_predict":
            worst = max(predicts, key=lambda p: p["bytes"])
            grows = worst["bytes"]
            how = f"valid stores loaded whole: {worst['condition']}, {worst['loads']} loads"
        elif rule in ("report", "leaderboard", "tables", "figures", "robustness_tables"):
            n = REAL_SPLITS["valid"]
            resamples = int(config["report"]["bootstrap"]["n_resamples"])
            grows, how = (
                4 * resamples * n * 8,
                "bootstrap: (resamples x valid clips) int64, 4 at once",
            )
        elif rule in (
            "transcribe",
            "transcribe_set",
            "robustness_transcribe",
            "robustness_transcribe_set",
        ):
            how = "clip by clip in batches; transcripts only"
            if rule.endswith("transcribe_set"):
                grows = LARGE_V3_EXTRA_BYTES
                how += "; large-v3's extra decoder weights (fp32) over the rehearsal's turbo"
        cuda = CUDA_HOST_GB * GB if rule in GPU_RULES else 0.0
        estimate = fixed_mb * 1e6 + grows + cuda
        ask = step_mem_mb(config, rule)
        rows.append(
            {
                "rule": rule,
                "ladder": rss["values"],
                "b": b_rss,
                "unit": unit,
                "ladder_units": ladder_units,
                "real_units": real_units,
                "power_mb": power,
                "rehearsal_mb": reh.get(rule, math.nan),
                "fixed_mb": fixed_mb,
                "grows_gb": grows / GB,
                "how": how,
                "cuda_gb": cuda / GB,
                "estimate_gb": estimate / GB,
                "ask_mb": ask,
                "fits": estimate <= ask * 1e6,
            }
        )
    return rows


# --- CPU hours ------------------------------------------------------------------------------


def job_counts(config, plan) -> dict[str, int]:
    """Jobs per rule of a config's DAG (the rules the ladder ran), from its plan."""
    from emibench.asr.settings import DEFAULT_SET

    shards = {s: int(n) for s, n in config["shards"].items()}
    n_shards = sum(shards.values())
    robust = list(plan.robust_splits)
    robust_shards = sum(shards[s] for s in robust)
    tsets = {v.config.get("transcripts") for v in plan.variants.values()} - {None, DEFAULT_SET}
    featsets: dict[str, set[str]] = {}
    for (system, variant), v in plan.variants.items():
        if v.kind != "model":
            continue
        for run in plan.runs_job(system, variant).runs:
            for paths in run.stores.values():
                if "/features/" in paths[0]:
                    parts = paths[0].split("/")
                    i = parts.index("features")
                    featsets.setdefault(parts[i + 1], set()).add(parts[i + 2])
    condition_features = set()
    for condition in plan.conditions:
        for path in plan.predict_inputs(condition):
            if f"/robustness/{condition}/features/" in path:
                condition_features.add(path)
    asr = plan.conditions_with_text("asr")
    kinds = [v.kind for v in plan.variants.values()]
    systems = {s for (s, _), v in plan.variants.items()}
    return {
        "manifest": 1,
        "check_dataset": 1,
        "data_report": 1,
        "table1": 1,
        "frames": n_shards,
        "audio": n_shards,
        "transcribe": n_shards,
        "transcribe_set": n_shards * len(tsets),
        "merge_transcripts": len(shards),
        "merge_transcripts_set": len(shards) * len(tsets),
        "features": 3 * sum(1 for m in featsets.values() if len(m) > 1 or "text" in m),
        "features_visual": 3 * sum(1 for m in featsets.values() if m == {"visual"}),
        "stage1": len(plan.stage1_jobs) * len(plan.stage1_seeds),
        "train": kinds.count("model"),
        "fuse": kinds.count("fuse"),
        "stack": kinds.count("stack"),
        "submission": len(systems),
        "collect": 1,
        "tables": 1,
        "figures": 1,
        "leaderboard": 1,
        "report": 1,
        "robustness_frames": len(plan.conditions_changing("frames")) * len(robust),
        "robustness_audio": len(plan.conditions_changing("audio")) * len(robust),
        "robustness_transcribe": len(asr) * robust_shards,
        "robustness_transcribe_set": len(asr) * robust_shards * len(tsets),
        "robustness_features": len(condition_features),
        "robustness_predict": len(plan.conditions),
        "collect_robustness": 1,
        "robustness_tables": 1,
        "robustness_figures": 1,
    }


# what a rule's work grows with: "seconds" of media (all splits), "valid_seconds", "clips",
# "valid_clips"; the rest of its cost is per job
RULE_UNITS = {
    "frames": "seconds",
    "audio": "seconds",
    "transcribe": "seconds",
    "transcribe_set": "seconds",
    "features": "seconds",
    "features_visual": "seconds",
    "stage1": "seconds",
    "robustness_frames": "valid_seconds",
    "robustness_audio": "valid_seconds",
    "robustness_transcribe": "valid_seconds",
    "robustness_transcribe_set": "valid_seconds",
    "robustness_features": "valid_seconds",
    "robustness_predict": "valid_clips",
}
# rules whose jobs each cover a whole scope (a condition, a feature set, a run's seeds), so the
# real DAG's extra jobs are extra work; per-shard rules only split the same clips finer
WORK_PER_JOB = {
    "features",
    "features_visual",
    "stage1",
    "robustness_frames",
    "robustness_audio",
    "robustness_features",
    "robustness_predict",
}


def unit_ratio(rule: str, ladder: Ladder) -> float:
    units = RULE_UNITS.get(rule, "clips")
    if units == "seconds":
        return REAL_SECONDS / ladder.seconds["all"]
    if units == "valid_seconds":
        return scope("valid").seconds / ladder.seconds["valid"]
    if units == "valid_clips":
        return REAL_SPLITS["valid"] / ladder.splits["valid"]
    return REAL_CLIPS / ladder.clips


def cpu_plan(ladder, real_jobs, ladder_jobs) -> list[dict[str, Any]]:
    """Per rule: the ladder's cpu_time at its largest size (cpu_top), b, and the full-size CPU
    hours by the power law (cpu_top x R^b x M) and linearly (cpu_top x R x M): R the ratio of the
    real set's units (media seconds or clips) to the ladder's at its largest size, M the real
    DAG's jobs per ladder job for rules whose jobs each cover a whole scope (conditions, feature
    sets, seeds), 1 for per-shard rules. GPU rules ran tiny models: their figures are not the real cost."""
    rows = []
    for rule, metrics in sorted(ladder.rules.items()):
        cpu = metrics["cpu_s"]
        ratio = unit_ratio(rule, ladder)
        jobs_l, jobs_r = ladder_jobs.get(rule, 1), real_jobs.get(rule, 1)
        mult = jobs_r / jobs_l if rule in WORK_PER_JOB else 1.0
        b = cpu["b"] if not math.isnan(cpu["b"]) else 1.0
        rows.append(
            {
                "rule": rule,
                "ladder": cpu["values"],
                "b": cpu["b"],
                "startup_bound": b < 0.5,
                "units": RULE_UNITS.get(rule, "clips"),
                "ratio": ratio,
                "jobs": (jobs_l, jobs_r),
                "mult": mult,
                "power_h": cpu["top"] * ratio ** min(max(b, 0.0), 1.0) * mult / 3600,
                "linear_h": cpu["top"] * ratio * mult / 3600,
                "gpu": rule in GPU_RULES,
            }
        )
    return rows


# --- GPU hours ------------------------------------------------------------------------------

# ASSUMED rates for the worked example (no GPU was lent; none of these is measured). Each is the
# figure `emibench bench features` / `bench train` prints on a GPU, under its printed name.
ASSUMED_RATES = {
    "CLIP ViT-B/16 224px images/s": 3000.0,
    "Wav2Vec2-large (lv60) audio-s/s": 2000.0,
    "BERT-base texts/s": 3000.0,
    "Whisper large-v3-turbo RTF (30 s)": 0.002,
    # not printed by bench features (large-v3, beam 5): assumed 2.5 x turbo's RTF
    "Whisper large-v3 beam 5 RTF (30 s)": 0.005,
    # bench train clips/s at the config's batch (32) on CUDA, bf16
    "train clips/s: dscmn": 500.0,
    "train clips/s: taemi VAT_taemi": 60.0,
    "train clips/s: taemi VAT_taemi_frozen-encoders": 180.0,
    "train clips/s: other systems": 2000.0,
}


def gpu_plan(config, plan, rates: Mapping[str, float] = ASSUMED_RATES) -> list[dict[str, Any]]:
    """GPU seconds per GPU rule at full size as formulas of the bench rates (see docs)."""
    r_img = rates["CLIP ViT-B/16 224px images/s"]
    r_aud = rates["Wav2Vec2-large (lv60) audio-s/s"]
    r_txt = rates["BERT-base texts/s"]
    rtf = rates["Whisper large-v3-turbo RTF (30 s)"]
    rtf_set = rates["Whisper large-v3 beam 5 RTF (30 s)"]
    fps = float(config["preprocess"]["frames"]["rate_hz"])
    everything, train, valid = scope(), scope("train"), scope("valid")

    def frames(s: Scope) -> float:
        return fps * s.seconds + s.clips

    def encode(s: Scope) -> float:
        return frames(s) / r_img + s.seconds / r_aud + s.clips / r_txt

    n_stage1 = len(plan.stage1_seeds)
    # features: frozen and each Stage I seed's set encode all three; official its text only
    # (the organisers' vit/ and wav2vec2/ files); taemi its frames (ViT-B/16 as CLIP's cost)
    feature_sets = 1 + n_stage1
    rows = [
        {
            "rule": "features + features_visual",
            "formula": f"{feature_sets} x (F/r_img + S/r_aud + N/r_txt) + N/r_txt + F/r_img",
            "gpu_s": feature_sets * encode(everything)
            + everything.clips / r_txt
            + frames(everything) / r_img,
        }
    ]
    windows = everything.clips  # one 30 s window a clip (a clip over 30 s takes ceil(d/30))
    rows.append(
        {
            "rule": "transcribe",
            "formula": "W x 30 s x RTF_turbo (W >= N windows)",
            "gpu_s": windows * WHISPER_WINDOW_S * rtf,
        }
    )
    rows.append(
        {
            "rule": "transcribe_set",
            "formula": "W x 30 s x RTF_large-v3,beam5",
            "gpu_s": windows * WHISPER_WINDOW_S * rtf_set,
        }
    )
    s1 = config["stage1"]
    epochs1 = int(s1["epochs"])
    k = int(s1["train_layers"])
    # the backward pass through the trained top blocks: 2 x (k / depth) of a forward pass
    back_v, back_a, back_t = 2 * k / 12, 2 * k / 24, 2 * k / 12
    stage1_epoch = (
        frames(train) / r_img * (1 + back_v)
        + train.seconds / r_aud * (1 + back_a)
        + train.clips / r_txt * (1 + back_t)
        + encode(valid)
    )
    rows.append(
        {
            "rule": "stage1",
            "formula": f"{n_stage1} seeds x {epochs1} epochs x (train encode x (1 + 2k/depth) "
            "+ valid encode)",
            "gpu_s": n_stage1 * epochs1 * stage1_epoch,
        }
    )
    seeds = len(plan.seeds)
    train_s = 0.0
    per_system: dict[str, float] = {}
    for (system, variant), v in plan.variants.items():
        if v.kind != "model":
            continue
        rate = rates.get(
            f"train clips/s: {system} {variant}",
            rates.get(f"train clips/s: {system}", rates["train clips/s: other systems"]),
        )
        epochs = int(v.config["train"]["epochs"])
        # each epoch: a training pass over train, a forward pass over valid (about a third of a
        # training step a clip); at the end every split predicted once
        per_seed = epochs * (train.clips + valid.clips / 3) / rate + everything.clips / 3 / rate
        seconds = seeds * per_seed
        train_s += seconds
        per_system[system] = per_system.get(system, 0.0) + seconds
    rows.append(
        {
            "rule": "train",
            "formula": "sum over variants: seeds x (epochs x (N_train + N_valid/3) + N/3) / r_train",
            "gpu_s": train_s,
            "by_system": per_system,
        }
    )
    robust = 0.0
    predict = 0.0
    for condition in plan.conditions:
        job = plan.predict_job(condition)
        for run in job.runs:
            if run.kind != "model":
                continue
            system = run.run_dir.split("/runs/")[1].split("/")[0]
            variant = run.run_dir.split("/runs/")[1].split("/")[1]
            rate = rates.get(
                f"train clips/s: {system} {variant}",
                rates.get(f"train clips/s: {system}", rates["train clips/s: other systems"]),
            )
            predict += valid.clips / 3 / rate
    for path in {p for c in plan.conditions for p in plan.predict_inputs(c) if "/features/" in p}:
        if "/robustness/" not in path:
            continue
        modality = path.rstrip("/").split("/")[-2]
        robust += {
            "visual": frames(valid) / r_img,
            "audio": valid.seconds / r_aud,
            "text": valid.clips / r_txt,
        }[modality]
    rows.append(
        {
            "rule": "robustness_features",
            "formula": "per (condition, set, modality) job: F_valid/r_img, S_valid/r_aud or "
            "N_valid/r_txt",
            "gpu_s": robust,
        }
    )
    asr = len(plan.conditions_with_text("asr"))
    rows.append(
        {
            "rule": "robustness_transcribe(_set)",
            "formula": f"{asr} asr conditions x W_valid x 30 s x (RTF_turbo + RTF_large-v3,beam5)",
            "gpu_s": asr * valid.clips * WHISPER_WINDOW_S * (rtf + rtf_set),
        }
    )
    rows.append(
        {
            "rule": "robustness_predict",
            "formula": "per condition, per evaluated trained run: N_valid / (3 r_train)",
            "gpu_s": predict,
        }
    )
    return rows


# --- printing -------------------------------------------------------------------------------


def _n(value: float, digits: int = 1) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _sizes(sizes: Sequence[int]) -> str:
    return " / ".join(f"{size:,}" for size in sizes)


def memory_table(rows: Iterable[Mapping[str, Any]], sizes: Sequence[int]) -> str:
    lines = [
        (
            f"| rule | ladder max RSS MB ({_sizes(sizes)}) | b | one job's clips, real (ladder) | "
            "ladder fit at real size MB | rehearsal MB (real models) | grows at full size GB | "
            "how | CUDA GB | **estimate GB** | asks MB | fits |"
        ),
        "|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ladder = " / ".join(_n(v, 0) for v in r["ladder"])
        lines.append(
            f"| {r['rule']} | {ladder} | {_n(r['b'], 2)} | {r['unit']}: {_n(r['real_units'], 0)} | "
            f"{_n(r['power_mb'], 0)} | {_n(r['rehearsal_mb'], 0)} | {_n(r['grows_gb'], 2)} | "
            f"{r['how']} | {_n(r['cuda_gb'], 0)} | **{_n(r['estimate_gb'], 1)}** | "
            f"{r['ask_mb']:,} | {'yes' if r['fits'] else '**no**'} |"
        )
    return "\n".join(lines)


def train_table(rows: Iterable[Mapping[str, Any]]) -> str:
    lines = [
        (
            "| train job | audio rate | loads (seeds) | one load: V / A / T / wave / text GB | "
            "held at once GB | fixed MB | **estimate GB** |"
        ),
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: -r["bytes"]):
        one = " / ".join(
            _n(r["per_load"][k] / GB, 2) if k in r["per_load"] else "-"
            for k in ("V", "A", "T", "wave", "text")
        )
        lines.append(
            f"| {r['job']} | {r['audio_rate']} | {r['loads']} | {one} | {_n(r['bytes'] / GB, 1)} "
            f"| {_n(r['fixed_mb'], 0)} | **{_n(r['estimate_gb'], 1)}** |"
        )
    return "\n".join(lines)


def predict_table(rows: Iterable[Mapping[str, Any]]) -> str:
    lines = [
        "| condition | loads | held at once GB (largest group of runs reading the same stores) | largest load GB |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['condition']} | {r['loads']} | {_n(r['bytes'] / GB, 1)} | "
            f"{_n(r['one_load'] / GB, 2)} |"
        )
    return "\n".join(lines)


def cpu_table(rows: Iterable[Mapping[str, Any]], sizes: Sequence[int]) -> str:
    lines = [
        (
            f"| rule | partition | ladder CPU s ({_sizes(sizes)}) | b | start-up bound (b < 0.5) | "
            "grows with | R | jobs ladder -> real | M | CPU h, power law | CPU h, linear bound |"
        ),
        "|---|---|---|---:|---|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ladder = " / ".join(_n(v, 1) for v in r["ladder"])
        part = "gpu (tiny models)" if r["gpu"] else "cpu"
        lines.append(
            f"| {r['rule']} | {part} | {ladder} | {_n(r['b'], 2)} | "
            f"{'yes' if r['startup_bound'] else ''} | {r['units']} | {_n(r['ratio'], 1)} | "
            f"{r['jobs'][0]} -> {r['jobs'][1]} | {_n(r['mult'], 1)} | {_n(r['power_h'], 2)} | "
            f"{_n(r['linear_h'], 2)} |"
        )
    return "\n".join(lines)


def gpu_table(rows: Iterable[Mapping[str, Any]]) -> str:
    lines = ["| rule | GPU seconds | worked example (assumed rates) GPU h |", "|---|---|---:|"]
    for r in rows:
        lines.append(f"| {r['rule']} | {r['formula']} | {_n(r['gpu_s'] / 3600, 1)} |")
    total = sum(r["gpu_s"] for r in rows) / 3600
    lines.append(f"| **total** | | **{_n(total, 1)}** |")
    return "\n".join(lines)


def build(extra: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Every table's rows, from the committed CSVs and the real config."""
    config, plan = real_plan(*extra)
    _, ladder_plan = real_plan(REPO / "tests/rehearsal/rehearsal.yaml", *extra)
    rates = disk_rates()
    ladder = read_ladder()
    rehearsal = rehearsal_jobs()
    real_jobs = job_counts(config, plan)
    ladder_jobs = job_counts(ladder_plan.config, ladder_plan)
    trains = train_loads(config, plan, rates)
    predicts = predict_loads(config, plan, rates)
    return {
        "memory": memory_plan(config, plan, rates, ladder, rehearsal, trains, predicts),
        "train": trains,
        "predict": predicts,
        "cpu": cpu_plan(ladder, real_jobs, ladder_jobs),
        "gpu": gpu_plan(config, plan),
        "jobs": (ladder_jobs, real_jobs),
        "sizes": ladder.sizes,
    }


def report(tables: Mapping[str, Any]) -> str:
    cpu_rows = tables["cpu"]
    cpu_total = [sum(r[k] for r in cpu_rows if not r["gpu"]) for k in ("power_h", "linear_h")]
    return "\n\n".join(
        [
            "## Peak RAM per job at full size\n\n"
            + memory_table(tables["memory"], tables["sizes"]),
            "## Train jobs: stores held in memory\n\n" + train_table(tables["train"]),
            "## Robustness predict jobs: valid stores held in memory\n\n"
            + predict_table(tables["predict"]),
            "## CPU hours per rule\n\n" + cpu_table(cpu_rows, tables["sizes"]),
            (
                f"CPU-partition rules: {cpu_total[0]:,.2f} CPU h by the power law, "
                f"{cpu_total[1]:,.2f} CPU h linear bound."
            ),
            "## GPU hours\n\n" + gpu_table(tables["gpu"]),
        ]
    )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rehearsal-benchmarks",
        type=Path,
        help="a rehearsal's results/<dataset>/benchmarks folder: rewrite " + str(REHEARSAL_CSV),
    )
    parser.add_argument("--configfile", nargs="*", default=[], help="more config files on top")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.rehearsal_benchmarks:
        n = write_rehearsal_csv(args.rehearsal_benchmarks)
        print(f"wrote {REHEARSAL_CSV} ({n} jobs)")
    print(report(build(args.configfile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How the real config's cost grows with the clip count, and what its stores take on disk.

    python benchmarks/scale.py --clips 60 120 240 --work /tmp/emibench-scale --out docs/scale-growth.md

Run by hand (not in CI). For each clip count it writes a fake root in the real Hume-Vidmimic2
layout (``emibench.data.fake_root``: short clips, small frames, the three corners), copies the
workflow into a fresh folder and runs ``snakemake --cores 2 all`` with config/vidmimic2.yaml: its
rules, systems, variants, tables and report, under the rehearsal's cuts
(tests/rehearsal/rehearsal.yaml: one shard per split, one seed, an epoch or two, three robustness
conditions) and this script's overlay (:func:`overlay`): tiny random models written under the real
hub names (the rehearsal writers with their ``TINY`` widths), so every model loads by its real name
offline, and frames not capped below the clips' length. Shards are fixed, so every size runs the
same jobs and each job's cost grows with the clips it holds.

Per size it collects, per rule, the jobs' wall seconds and ``cpu_time`` (summed) and ``max_rss``
(maxed) from the Snakemake benchmark files (every rule has a ``benchmark:`` directive), the bytes
of every store folder (frames, audio, transcripts, each feature set, each robustness condition's
stores, runs) and the CPU seconds of the whole run (``getrusage`` of the Snakemake process tree).
It fits cost = a * clips^b per rule (least squares on logs), prints the tables and writes them as
Markdown to ``--out`` and as CSV beside it; rules whose exponent exceeds ``--flag`` (1.15) are
flagged. Each size's figures are kept in ``<work>/n<clips>/summary.json``; a size whose summary
exists is not run again (``--rerun`` forces it), so a ladder can be grown one size at a time.

It also computes the disk each store takes per second of media at the REAL config's widths and
rates (:func:`disk_model`: widths from the published architectures of the rehearsal writers, rates
and sizes from config/vidmimic2.yaml, dtypes as the store writers use them, robustness stores from
the plan of the real config), checks the same model at the tiny widths against the bytes measured
on the ladder's stores, and totals it for the real set (33 h 23 min, 17,246 clips).

Snakemake samples a job's processes every 0.5 s for its first 15 s, then every 30 s, so
``cpu_time`` misses the CPU a job spends after its last sample (up to 30 s of it); the ladder
runs Snakemake with that interval at 2 s (:data:`SNAKEMAKE_SAMPLING_EVERY_2S`). The run's total
CPU from ``getrusage`` has no such gap.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = ("Snakefile", "workflow", "config", "envs", "profiles")
REAL_CONFIG = "config/vidmimic2.yaml"
REHEARSAL = "tests/rehearsal/rehearsal.yaml"
LADDER_THREADED_STEPS = ("manifest", "frames", "transcribe", "features", "train")
DATASET = "scale"
REAL_SPLITS = {"train": 8072, "valid": 4588, "test": 4586}
REAL_SECONDS = 33 * 3600 + 23 * 60  # 33 h 23 min
FLAG = 1.15
METRICS = ("cpu_s", "wall_s", "max_rss_mb")
# no Python job runs in less: a smaller max_rss is the shell wrapper's, sampled before the exec
UNSAMPLED_RSS_MB = 20.0

# open_clip builds "ViT-B-16" from its own (full-size) config; the hf-hub form reads the cache's
# open_clip_config.json (the tiny one) for the same hub entry
CLIP_HUB = "hf-hub:timm/vit_base_patch16_clip_224.openai"
# fake root: short clips, the smallest frame size it takes, the long corner as long as the rest
ROOT_SETTINGS = {"duration_s": [2.0, 4.0], "frame_sizes": [[64, 48]], "long_clip_s": 4.0}
MAX_CLIP_S = 4.0

# --- aggregation and fitting (pure; tests/test_bench_scale.py) ------------------------------


def read_benchmark(path: str | Path) -> dict[str, float]:
    """One Snakemake benchmark file -> {wall_s, cpu_s, max_rss_mb} (its last row; NA -> 0).

    A max_rss under :data:`UNSAMPLED_RSS_MB` is NaN: the job ended before Snakemake sampled its
    Python process, and the figure is the shell wrapper's.
    """
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    header, row = lines[0].split("\t"), lines[-1].split("\t")
    values = dict(zip(header, row))

    def number(key: str) -> float:
        try:
            return float(values.get(key, "nan"))
        except ValueError:
            return 0.0

    rss = number("max_rss")
    return {
        "wall_s": number("s"),
        "cpu_s": number("cpu_time"),
        "max_rss_mb": rss if rss >= UNSAMPLED_RSS_MB else math.nan,
    }


def larger(a: float, b: float) -> float:
    """The larger of two figures, either of which may be NaN (not measured)."""
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def rule_costs(bench_dir: str | Path) -> dict[str, dict[str, float]]:
    """{rule: {jobs, wall_s, cpu_s (sums over its jobs), max_rss_mb (max over the jobs whose
    process was sampled; NaN if none was)}} of a benchmarks folder laid out as
    ``<rule>/<job>.tsv`` (the workflow's bench_path)."""
    costs: dict[str, dict[str, float]] = {}
    for path in sorted(Path(bench_dir).glob("*/*.tsv")):
        record = read_benchmark(path)
        rule = costs.setdefault(
            path.parent.name, {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": math.nan}
        )
        rule["jobs"] += 1
        rule["wall_s"] += record["wall_s"]
        rule["cpu_s"] += record["cpu_s"]
        rule["max_rss_mb"] = larger(rule["max_rss_mb"], record["max_rss_mb"])
    return costs


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def store_folders(results: str | Path) -> dict[str, Path]:
    """{store name: folder} of a results/<dataset> folder: frames, audio, transcripts (and each
    transcript set), each feature set's modality, each robustness condition's media and feature
    stores, runs."""
    results = Path(results)
    found: dict[str, Path] = {}
    for name in ("frames", "audio", "runs"):
        if (results / name).is_dir():
            found[name] = results / name
    transcripts = results / "transcripts"
    if transcripts.is_dir():
        found["transcripts"] = transcripts
        for tset in sorted((transcripts / "sets").glob("*")):
            found[f"transcripts/sets/{tset.name}"] = tset
    for base, prefix in [(results, ""), *_conditions(results)]:
        for folder in sorted((base / "features").glob("*/*")):
            if folder.is_dir():
                found[f"{prefix}features/{folder.parent.name}/{folder.name}"] = folder
        if prefix:
            for store in ("frames", "audio", "transcripts"):
                if (base / store).is_dir():
                    found[f"{prefix}{store}"] = base / store
    return found


def _conditions(results: Path) -> list[tuple[Path, str]]:
    robustness = results / "robustness"
    return [(c, f"robustness/{c.name}/") for c in sorted(robustness.glob("*")) if c.is_dir()]


def store_bytes(results: str | Path) -> dict[str, int]:
    """{store name: bytes on disk} (see store_folders); the transcripts entry counts its sets
    too, each set is also listed alone."""
    return {name: folder_bytes(path) for name, path in store_folders(results).items()}


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(a, b) of y = a * x^b by least squares on logs; NaNs when fewer than two points are
    positive."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pairs) < 2 or len({p[0] for p in pairs}) < 2:
        return math.nan, math.nan
    n = len(pairs)
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    b = sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx
    return math.exp(my - b * mx), b


def growth_rows(
    sizes: Sequence[int],
    figures: Mapping[int, Mapping[str, float]],
    flag: float = FLAG,
) -> list[dict[str, Any]]:
    """One row per key of ``figures[size]``: its value at each size, the exponent fitted over
    all sizes (``b``) and over the two largest (``b_last``: fixed per-job costs weigh less
    there), and whether either exceeds ``flag``; keys missing at a size count as 0 there."""
    keys = sorted({k for size in sizes for k in figures.get(size, {})})
    rows = []
    for key in keys:
        values = [float(figures.get(size, {}).get(key, 0.0)) for size in sizes]
        _, b = fit_power(sizes, values)
        _, last = fit_power(sizes[-2:], values[-2:]) if len(sizes) > 2 else (math.nan, math.nan)
        flagged = any(not math.isnan(x) and x > flag for x in (b, last))
        rows.append({"key": key, "values": values, "b": b, "b_last": last, "flag": flagged})
    return rows


def metric_by_rule(
    costs_by_size: Mapping[int, Mapping[str, Mapping[str, float]]], metric: str
) -> dict[int, dict[str, float]]:
    """{size: {rule: the rule's ``metric``}} from {size: rule_costs(...)}."""
    return {
        size: {rule: float(c[metric]) for rule, c in costs.items()}
        for size, costs in costs_by_size.items()
    }


def split_counts(clips: int) -> dict[str, int]:
    """The real set's split shares for ``clips`` clips (at least 2 each: the fake root's
    corners)."""
    total = sum(REAL_SPLITS.values())
    valid = max(2, round(clips * REAL_SPLITS["valid"] / total))
    test = max(2, round(clips * REAL_SPLITS["test"] / total))
    return {"train": max(2, clips - valid - test), "valid": valid, "test": test}


def _number(value: float, digits: int = 1) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def markdown_table(
    title: str, sizes: Sequence[int], rows: Sequence[Mapping[str, Any]], digits: int = 1
) -> str:
    head = f"| {title} | " + " | ".join(f"{s:,} clips" for s in sizes) + " | b | b, last two |"
    lines = [head + " > 1.15 |", "|---|" + "---:|" * (len(sizes) + 2) + "---|"]
    for row in rows:
        cells = " | ".join(_number(v, digits) for v in row["values"])
        lines.append(
            f"| {row['key']} | {cells} | {_number(row['b'], 2)} | "
            f"{_number(row.get('b_last', math.nan), 2)} | {'**yes**' if row['flag'] else ''} |"
        )
    return "\n".join(lines)


# --- the disk model -------------------------------------------------------------------------

# dtypes of the stores, as their writers store them: frames uint8 RGB (media/frames.py), audio
# float32 mono (media/audio.py), features float16 (features/extract.py _f16)
FRAME_BYTES, AUDIO_BYTES, FEATURE_BYTES = 1, 4, 2
# config encoders key -> rehearsal model key (whose published architecture gives the width)
ENCODER_MODELS = {"vision": "clip", "audio": "wav2vec2", "text": "bert", "taemi_vision": "vit"}


def encoder_widths(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, int]:
    """{encoders key: feature width} of the published architectures (with ``overrides`` laid
    over them, as the rehearsal writers lay them), and the organisers' widths."""
    from emibench.data.fake_root import VIT_DIM, WAV2VEC2_DIM
    from emibench.encoders.rehearsal import MODELS, deep_merge

    configs = {
        m.key: deep_merge(m.config(), (overrides or {}).get(m.key, {}))
        for m in MODELS
        if m.key in ENCODER_MODELS.values()
    }
    return {
        "vision": int(configs["clip"]["model_cfg"]["vision_cfg"]["width"]),
        "audio": int(configs["wav2vec2"]["hidden_size"]),
        "text": int(configs["bert"]["hidden_size"]),
        "taemi_vision": int(configs["vit"]["hidden_size"]),
        "official_visual": VIT_DIM,
        "official_audio": WAV2VEC2_DIM,
    }


def native_audio_rate() -> float:
    """Wav2Vec2's frames per second: 16 kHz over the product of its conv strides (320)."""
    from emibench.encoders import published

    hop = math.prod(published.WAV2VEC2_LARGE_LV60["conv_stride"])
    return 16000 / hop


def disk_model(config: Mapping[str, Any], widths: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Bytes each clean store takes, uncompressed, per second of media (``per_s``) or per clip
    (``per_clip``), with the formula: frames, audio, every feature set's stores."""
    frames, audio = config["preprocess"]["frames"], config["preprocess"]["audio"]
    rate, size = float(frames["rate_hz"]), int(frames["size"])
    native = native_audio_rate()
    raw = bool(config["features"]["keep_raw_audio"])
    max_tokens = int(config["encoders"]["text"]["max_length"])
    stage1_width = (
        {"visual": widths["vision"], "audio": widths["audio"], "text": widths["text"]}
        if config["stage1"]["features"] == "encoder"
        else dict.fromkeys(("visual", "audio", "text"), int(config["stage1"]["proj_dim"]))
    )
    sets = {
        "official": {
            "visual": widths["official_visual"],
            "audio": widths["official_audio"],
            "text": widths["text"],
        },
        "frozen": {"visual": widths["vision"], "audio": widths["audio"], "text": widths["text"]},
        "stage1": stage1_width,
        "taemi": {"visual": widths["taemi_vision"]},
    }
    model: dict[str, dict[str, Any]] = {
        "frames": {
            "per_s": rate * size * size * 3 * FRAME_BYTES,
            "how": f"{rate:g} frames/s x {size}x{size}x3 x uint8",
        },
        "audio": {
            "per_s": int(audio["sample_rate"]) * AUDIO_BYTES,
            "how": f"{audio['sample_rate']} samples/s x float32",
        },
    }
    for featset, stores in sets.items():
        for store, width in stores.items():
            key = f"features/{featset}/{store}"
            if store == "visual":
                model[key] = {
                    "per_s": rate * width * FEATURE_BYTES,
                    "how": f"{rate:g} rows/s x {width} x float16",
                }
            elif store == "audio":
                rows = rate + (native if raw else 0.0)
                model[key] = {
                    "per_s": rows * width * FEATURE_BYTES,
                    "how": f"({rate:g} pooled + {native:g} native rows/s) x {width} x float16"
                    if raw
                    else f"{rate:g} pooled rows/s x {width} x float16",
                }
            else:
                model[key] = {
                    "per_clip_max": (max_tokens + 1) * width * FEATURE_BYTES,
                    "how": f"(<= {max_tokens} tokens + CLS) x {width} x float16 per clip",
                }
    return model


def condition_stores(config: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """{condition: {store: share of the clean store's bytes it holds}} from the plan of
    ``config``: the media stores its corrupt jobs write (frames, audio, transcripts) and the
    feature stores (features/<set>/<modality>, stage1 seeds folded into ``stage1``) its predict
    job reads. Removed audio or text leaves empty entries (share 0); dropped frames keep
    1 - share of the frames, of the visual rows and of the audio rows pooled onto them (the
    audio store's native rows stay, :func:`condition_bytes_per_s`)."""
    from emibench.plan import Plan

    sys.path.insert(0, str(REPO / "tests"))
    from plan_fakes import workflow_paths  # PATHS read from common.smk, its one definition

    plan = Plan(config, workflow_paths(config), check_models_now=False)
    out: dict[str, dict[str, float]] = {}
    for name, condition in plan.conditions.items():
        prefix = f"results/{config['dataset']['name']}/robustness/{name}/"
        stores = set(condition.changed_media)
        for path in plan.predict_inputs(name):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            if parts[0] == "features":
                featset = "stage1" if parts[1].startswith("stage1_seed") else parts[1]
                stores.add(f"features/{featset}/{parts[2]}")
            else:
                stores.add(parts[0])
        ops = {op.name: op for op in condition.ops}
        kept = 1.0
        if "drop_frames" in ops:
            kept = 1.0 - float(ops["drop_frames"].params.share)
        shares = {}
        for store in sorted(stores):
            modality = store.rsplit("/", 1)[-1]
            removed = ("remove_audio" in ops and modality == "audio") or (
                "remove_text" in ops and modality in ("text", "transcripts")
            )
            if removed:
                shares[store] = 0.0
            elif modality in ("frames", "visual"):
                shares[store] = kept
            elif store.startswith("features/") and modality == "audio" and kept < 1.0:
                rate = float(config["preprocess"]["frames"]["rate_hz"])
                native = native_audio_rate() if config["features"]["keep_raw_audio"] else 0.0
                shares[store] = (rate * kept + native) / (rate + native)
            else:
                shares[store] = 1.0
        out[name] = shares
    return out


def temporary_condition_stores() -> set[str]:
    """The condition media stores the workflow marks ``temp()`` (workflow/rules/robustness.smk):
    deleted once the jobs that read them are done."""
    text = (REPO / "workflow/rules/robustness.smk").read_text()
    return set(re.findall(r'temp\(directory\(CONDITION_MEDIA\["(\w+)"\]\)\)', text))


def load_real_config(root: str | Path, *extra: str | Path) -> dict[str, Any]:
    """config/vidmimic2.yaml over config/config.yaml (as --configfile lays it), with dataset.root
    pointed at ``root`` (the plan reads whether the root holds the organisers' features)."""
    import tempfile

    import yaml

    from emibench.config_files import load_config

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump({"dataset": {"root": str(root)}}, handle)
    try:
        return load_config(
            REPO / "config/config.yaml", REPO / REAL_CONFIG, *extra, Path(handle.name)
        )
    finally:
        os.unlink(handle.name)


# --- running one size -----------------------------------------------------------------------

# Snakemake samples a job's processes every 0.5 s for 15 s, then every 30 s (its
# benchmarked(interval=30) default): the CPU a job spends after its last sample is lost, up to
# 30 s of it. The ladder runs Snakemake's own CLI with that interval at 2 s.
BENCH_INTERVAL_S = 2
SNAKEMAKE_SAMPLING_EVERY_2S = (
    "import sys; import snakemake.benchmark as b; "
    f"b.benchmarked.__defaults__ = (None, None, {BENCH_INTERVAL_S}); "
    "from snakemake.cli import main; sys.argv[0] = 'snakemake'; sys.exit(main())"
)


def overlay(root: Path) -> dict[str, Any]:
    """The config laid over config/vidmimic2.yaml and the rehearsal's cuts for one size."""
    frames = math.ceil(MAX_CLIP_S * 5.0) + 2  # no clip capped at the real config's 5 fps
    return {
        "dataset": {"name": DATASET, "root": str(root)},
        "encoders": {
            "vision": {"model_name": CLIP_HUB, "pretrained": ""},
            "baseline_vision": {"model_name": CLIP_HUB, "pretrained": ""},
        },
        "preprocess": {"frames": {"max_frames": frames}},
        # two threads a job, one job at a time, as the committed ladder was measured (the
        # rehearsal runs one-thread jobs two at a time, which blurs a rule's own wall time)
        "resources": {
            "threads": 2,
            "steps": {step: {"threads": 2} for step in LADDER_THREADED_STEPS},
        },
    }


def make_models(hf_home: Path) -> None:
    from emibench.encoders.rehearsal import TINY, make_rehearsal_models

    make_rehearsal_models(hf_home, overrides=TINY)


def make_root(root: Path, clips: int, threads: int) -> None:
    from emibench.data.fake_root import FakeRootSettings, make_fake_root

    if (root / "fake_root.json").is_file():
        record = json.loads((root / "fake_root.json").read_text())
        if record.get("clips") == clips:
            return
    settings = FakeRootSettings(
        clips=split_counts(clips),
        duration_s=tuple(ROOT_SETTINGS["duration_s"]),
        frame_sizes=tuple(tuple(s) for s in ROOT_SETTINGS["frame_sizes"]),
        long_clip_s=ROOT_SETTINGS["long_clip_s"],
    )
    make_fake_root(root, settings, threads=threads)


def media_seconds(manifest: str | Path) -> dict[str, float]:
    """Seconds of media per split (and ``all``) from the manifest's probed durations."""
    import pandas as pd

    table = pd.read_csv(manifest, sep="\t", dtype={"id": str})
    out = {split: float(t["duration_s"].fillna(0).sum()) for split, t in table.groupby("split")}
    out["all"] = float(table["duration_s"].fillna(0).sum())
    out["clips"] = float(len(table))
    return out


def stored_array_bytes(folder: Path) -> dict[str, float]:
    """Uncompressed bytes of the ``data`` arrays (and extras) in a store folder's .h5 files, and
    the number of clips; read from the stores (dtype x shape)."""
    import h5py

    total, clips, rows = 0, 0, 0
    for path in sorted(folder.rglob("*.h5")):
        with h5py.File(path, "r") as handle:
            for clip in handle.values():
                clips += 1
                for array in clip.values():
                    total += array.dtype.itemsize * math.prod(array.shape)
                rows += clip["data"].shape[0] if "data" in clip else 0
    return {"array_bytes": float(total), "clips": float(clips), "rows": float(rows)}


def load_summary(folder: Path) -> dict[str, Any]:
    """A size's kept summary, its rules read again from its benchmark files where they are
    still there (so a change in how they are read applies to sizes run before it)."""
    summary = json.loads((folder / "summary.json").read_text())
    bench_dir = folder / "results" / DATASET / "benchmarks"
    if bench_dir.is_dir():
        summary["rules"] = rule_costs(bench_dir)
    return summary


def run_size(
    clips: int, work: Path, hf_home: Path, cores: int, rerun: bool = False, resume: bool = False
) -> dict[str, Any]:
    """Run (or reuse) one size; returns and keeps its summary. ``resume``: go on with an
    interrupted run of the size (its finished jobs' benchmark files stay; the whole run's wall
    and CPU are then those of the last session only, and marked so)."""
    import yaml

    folder = work / f"n{clips}"
    summary_path = folder / "summary.json"
    if summary_path.is_file() and not rerun:
        return load_summary(folder)
    resumed = resume and (folder / "results").is_dir()
    if folder.exists() and not resumed:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root = work / "roots" / f"n{clips}"
    start = time.perf_counter()
    make_root(root, clips, threads=cores)
    root_s = time.perf_counter() - start
    for name in WORKFLOW if not resumed else ():
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    (folder / "scale.yaml").write_text(yaml.safe_dump(overlay(root)))
    cmd = [
        sys.executable,
        "-c",
        SNAKEMAKE_SAMPLING_EVERY_2S,
        "--cores",
        str(cores),
        "all",
        "--configfile",
        REAL_CONFIG,
        str(REPO / REHEARSAL),
        "scale.yaml",
        *(["--rerun-incomplete"] if resumed else []),
    ]
    env = {
        **os.environ,
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    print(f"== {clips} clips: snakemake {' '.join(cmd[3:])} in {folder}", flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(folder / "snakemake.log", "w") as log:
        done = subprocess.run(
            cmd, check=False, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"snakemake failed for {clips} clips; see {folder / 'snakemake.log'}")
    results = folder / "results" / DATASET
    stores = store_folders(results)
    summary = {
        "clips": clips,
        "splits": split_counts(clips),
        "root_s": round(root_s, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "resumed": resumed,
        "media_s": media_seconds(results / "manifest.tsv"),
        "rules": rule_costs(results / "benchmarks"),
        "stores": {name: folder_bytes(path) for name, path in stores.items()},
        "arrays": {
            name: stored_array_bytes(path)
            for name, path in stores.items()
            if any(path.rglob("*.h5"))
        },
    }
    summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"== {clips} clips: {wall:.0f} s wall, {summary['cpu_s']:.0f} CPU s", flush=True)
    return summary


# --- reporting --------------------------------------------------------------------------------


def growth_section(summaries: Sequence[Mapping[str, Any]], flag: float) -> tuple[str, list[dict]]:
    """Markdown tables (per rule: CPU s, wall s, max RSS; per store: bytes) and CSV rows."""
    sizes = [int(s["clips"]) for s in summaries]
    costs = {int(s["clips"]): s["rules"] for s in summaries}
    parts, csv_rows = [], []
    totals = growth_rows(
        sizes,
        {
            int(s["clips"]): {
                # a resumed size's getrusage and wall cover its last session only
                "run CPU s (getrusage)": math.nan if s.get("resumed") else s["cpu_s"],
                "run wall s": math.nan if s.get("resumed") else s["wall_s"],
                "run CPU s (sum of the rules' cpu_time)": sum(
                    r["cpu_s"] for r in s["rules"].values()
                ),
                "jobs": sum(r["jobs"] for r in s["rules"].values()),
                **{f"clips ({split})": n for split, n in s["splits"].items()},
                "media s (all)": s["media_s"]["all"],
                "media s (valid)": s["media_s"]["valid"],
            }
            for s in summaries
        },
        flag,
    )
    parts.append(markdown_table("whole run", sizes, totals))
    for row in totals:
        csv_rows.append(
            {"table": "run", "key": row["key"], "metric": row["key"], **_csv(row, sizes)}
        )
    titles = {
        "cpu_s": "rule: CPU s (cpu_time, summed)",
        "wall_s": "rule: wall s (summed over jobs)",
        "max_rss_mb": "rule: max RSS MB",
    }
    for metric in METRICS:
        rows = growth_rows(sizes, metric_by_rule(costs, metric), flag)
        digits = 0 if metric == "max_rss_mb" else 1
        parts.append(markdown_table(titles[metric], sizes, rows, digits))
        for row in rows:
            csv_rows.append(
                {"table": "rule", "key": row["key"], "metric": metric, **_csv(row, sizes)}
            )
    stores = growth_rows(
        sizes,
        {int(s["clips"]): {k: v / 1e6 for k, v in s["stores"].items()} for s in summaries},
        flag,
    )
    parts.append(markdown_table("store: MB on disk", sizes, stores, 2))
    for row in stores:
        csv_rows.append({"table": "store", "key": row["key"], "metric": "MB", **_csv(row, sizes)})
    return "\n\n".join(parts), csv_rows


def _csv(row: Mapping[str, Any], sizes: Sequence[int]) -> dict[str, Any]:
    out = {f"n{size}": value for size, value in zip(sizes, row["values"])}
    out["b"] = "" if math.isnan(row["b"]) else round(row["b"], 3)
    out["b_last_two"] = "" if math.isnan(row["b_last"]) else round(row["b_last"], 3)
    out["flag"] = row["flag"]
    return out


def measured_rates(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per store of one size: file bytes and array bytes per media second of the splits it
    covers (robustness stores: the valid split), and per clip."""
    media = summary["media_s"]
    out = {}
    for folder, arrays in summary["arrays"].items():
        name = re.sub(r"stage1_seed\d+", "stage1", folder)
        seconds = media["valid"] if name.startswith("robustness/") else media["all"]
        out[name] = {
            "file_per_s": summary["stores"][folder] / seconds,
            "array_per_s": arrays["array_bytes"] / seconds,
            "array_per_clip": arrays["array_bytes"] / max(arrays["clips"], 1.0),
            "clips": arrays["clips"],
        }
    return out


def disk_section(summaries: Sequence[Mapping[str, Any]], root: Path) -> tuple[str, list[dict]]:
    """Bytes per media second at the real widths, checked against the largest measured size."""
    real_config = load_real_config(root)
    ladder_config = load_real_config(root, REPO / REHEARSAL)
    from emibench.encoders.rehearsal import TINY

    real = disk_model(real_config, encoder_widths())
    tiny = disk_model(ladder_config, encoder_widths(TINY))
    conditions = condition_stores(real_config)
    biggest = max(summaries, key=lambda s: s["clips"]) if summaries else None
    measured = measured_rates(biggest) if biggest else {}
    clips_total = sum(REAL_SPLITS.values())
    valid_s = REAL_SECONDS * REAL_SPLITS["valid"] / clips_total
    lines = [
        (
            f"Real config (config/vidmimic2.yaml), uncompressed; the real set: {REAL_SECONDS:,} s "
            f"of media in {clips_total:,} clips (valid: {REAL_SPLITS['valid']:,} clips, "
            f"{valid_s:,.0f} s at the set's mean clip length)."
        ),
        "",
        (
            "| store | bytes per media second (real widths) | how | real set (GB) | model at the "
            "ladder's widths | measured: array bytes | measured: file bytes | measured / model "
            "| measured, scaled to the real widths (GB) |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    csv_rows = []
    totals = {"clean": 0.0, "robustness": 0.0}
    for name, entry in real.items():
        tiny_entry = tiny[name]
        got = measured.get(name)
        if "per_s" in entry:
            per, real_gb = entry["per_s"], entry["per_s"] * REAL_SECONDS / 1e9
            model_tiny = tiny_entry["per_s"]
            got_array = got["array_per_s"] if got else math.nan
            got_file = got["file_per_s"] if got else math.nan
            unit = "/s"
        else:
            per, real_gb = entry["per_clip_max"], entry["per_clip_max"] * clips_total / 1e9
            model_tiny = tiny_entry["per_clip_max"]
            got_array = got["array_per_clip"] if got else math.nan
            got_file = (
                got["file_per_s"] * biggest["media_s"]["all"] / got["clips"] if got else math.nan
            )
            unit = "/clip (max)"
        totals["clean"] += real_gb
        ratio = got_array / model_tiny if got else math.nan
        lines.append(
            f"| {name} | {per:,.0f}{unit} | {entry['how']} | {real_gb:,.1f} | {model_tiny:,.0f} "
            f"| {_number(got_array, 0)} | {_number(got_file, 0)} | {_number(ratio, 2)} "
            f"| {_number(ratio * real_gb, 1)} |"
        )
        csv_rows.append(
            {
                "store": name,
                "real_per": per,
                "unit": unit,
                "real_gb": real_gb,
                "tiny_model": model_tiny,
                "measured_array": got_array,
                "measured_file": got_file,
                "measured_scaled_gb": ratio * real_gb,
            }
        )
    lines += [
        "",
        (
            "Robustness conditions (valid split; each condition's own stores, as a share of the "
            "clean store: removed media leave empty entries, dropped frames drop their rows):"
        ),
        "",
        "| condition | stores (share of the clean store) | GB kept | GB temporary |",
        "|---|---|---:|---:|",
    ]
    temporary = temporary_condition_stores()
    totals["robustness, temporary"] = 0.0
    for condition, shares in conditions.items():
        gb = {"kept": 0.0, "temporary": 0.0}
        for store, share in shares.items():
            entry = real.get(store)
            if entry is None:
                continue  # transcripts: text tables, a few hundred bytes a clip
            if "per_s" in entry:
                size = share * entry["per_s"] * valid_s / 1e9
            else:
                size = share * entry["per_clip_max"] * REAL_SPLITS["valid"] / 1e9
            gb["temporary" if store in temporary else "kept"] += size
        totals["robustness"] += gb["kept"]
        totals["robustness, temporary"] += gb["temporary"]
        named = ", ".join(
            f"{k}{' (temp)' if k in temporary else ''}{f' ({v:.2g})' if v != 1.0 else ''}"
            for k, v in shares.items()
        )
        lines.append(f"| {condition} | {named} | {gb['kept']:,.1f} | {gb['temporary']:,.1f} |")
        csv_rows.append(
            {
                "store": f"robustness/{condition}",
                "real_gb": gb["kept"],
                "real_gb_temporary": gb["temporary"],
                "unit": named,
            }
        )
    lines += [
        "",
        (
            f"Clean stores: {totals['clean']:,.1f} GB; robustness stores kept "
            f"({len(conditions)} conditions): {totals['robustness']:,.1f} GB; together "
            f"{totals['clean'] + totals['robustness']:,.1f} GB at the end of the run, plus up to "
            f"{totals['robustness, temporary']:,.1f} GB of temporary condition media "
            f"({', '.join(sorted(temporary))}; each deleted once its features and predictions "
            "exist, so the peak holds only those of the conditions in progress). Uncompressed; "
            "text stores at their max_length bound; runs (model files, predictions) not included."
        ),
    ]
    return "\n".join(lines), csv_rows


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, nargs="*", default=[60, 120, 240])
    parser.add_argument("--work", type=Path, default=Path("/tmp/emibench-scale"))
    parser.add_argument("--out", type=Path, help="Markdown file; the CSVs go beside it")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--flag", type=float, default=FLAG)
    parser.add_argument("--rerun", action="store_true", help="run sizes that have a summary")
    parser.add_argument("--no-run", action="store_true", help="only the sizes already run")
    parser.add_argument(
        "--resume", action="store_true", help="go on with interrupted sizes (not wiped)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    hf_home = work / "hf"
    if not args.no_run:
        make_models(hf_home)
    summaries = []
    for clips in sorted(args.clips):
        if args.no_run:
            folder = work / f"n{clips}"
            if (folder / "summary.json").is_file():
                summaries.append(load_summary(folder))
            continue
        summaries.append(run_size(clips, work, hf_home, args.cores, args.rerun, args.resume))
    growth, growth_csv = growth_section(summaries, args.flag) if summaries else ("", [])
    any_root = work / "roots" / f"n{summaries[0]['clips']}" if summaries else REPO
    disk, disk_csv = disk_section(summaries, any_root)
    text = (
        f"# benchmarks/scale.py: {', '.join(str(s['clips']) for s in summaries)} clips, "
        f"--cores {args.cores}\n\n## Growth\n\n{growth}\n\n## Disk\n\n{disk}\n"
    )
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        for suffix, rows in (("growth", growth_csv), ("disk", disk_csv)):
            if not rows:
                continue
            path = args.out.with_name(f"{args.out.stem}-{suffix}.csv")
            fields = sorted({k for row in rows for k in row}, key=lambda k: (k[0] != "t", k))
            with open(path, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

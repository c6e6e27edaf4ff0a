"""A small fake project for the report tests: manifest, labels, latents and run folders that
follow docs/architecture.md, with planted correlations, so table numbers can be checked against
a direct computation.

``make_fake_project(root)`` writes, under ``root``:
``manifest.tsv``, ``test_labels.csv``, ``latents.csv``, ``table1.csv``/``.md``, ``data_report.md``,
``stage1/joint/seed0/log.tsv`` (both pairs' rows) and ``runs/<system>/<variant>/seed<k>/`` with
``metrics.json``, ``timing.json``, ``predictions_{valid,test}.csv``, ``train_log.tsv`` and (dscmn)
``fusion_weights_{valid,test}.csv``; a fused and a late-fusion system over some of those runs
(COMPOSITES); and the Snakemake benchmark files of the train and stack jobs
(``benchmarks/{train,stack}/<system>_<variant>.tsv``) and of the Stage I jobs
(``benchmarks/stage1/<pair>_0.tsv``). Timings, memory and parameter counts are planted per
system, so cost columns can be checked against the files. Usage as a script:
``python tests/report_fake_runs.py ROOT``.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.emotions import EMOTIONS, format_id
from emibench.evaluate.metrics import pearson_per_emotion
from emibench.evaluate.record import (
    ConditionInfo,
    RunRecord,
    SplitScores,
    read_record,
    write_record,
)

# (system, variant, features, modalities, noise sd): less noise, higher planted correlation
RUNS = (
    ("baseline_vit", "official", "official", "V", 0.60),
    ("baseline_wav2vec2", "official", "official", "A", 0.40),
    ("dscmn", "V", "stage1", "V", 0.35),
    ("dscmn", "VAT", "stage1", "VAT", 0.15),
)
SEEDS = (0, 1, 2)
# (system, variant, kind, members): a fused and a late-fusion system over runs of RUNS
COMPOSITES = (
    (
        "baseline_fusion",
        "VA_official",
        "fuse",
        ("baseline_vit/official", "baseline_wav2vec2/official"),
    ),
    ("late_fusion", "VAT", "stack", ("baseline_vit/official", "dscmn/V")),
)
# (n_params, n_encoder_params, encoder_lr) planted per system/variant; dscmn/VAT fine-tunes its
# encoders in the run, dscmn/V holds frozen ones
PARAMS = {
    "baseline_vit/official": (1200, 0, 0.0),
    "baseline_wav2vec2/official": (600, 0, 0.0),
    "dscmn/V": (5000, 3000, 0.0),
    "dscmn/VAT": (9000, 4000, 1e-4),
    "late_fusion/VAT": (40, 0, 0.0),
}
BENCH_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

REPORT_CONFIG = {
    "split": "valid",
    "splits": ["valid", "test"],
    "digits": 3,
    "bootstrap": {"n_resamples": 200, "seed": 0, "level": 0.95},
    "per_emotion_rows": "systems",
    "tables": {
        "table2": {
            "title": "Table 2: unimodal",
            "rows": [
                {
                    "key": "vit_baseline",
                    "label": "ViT (baseline)",
                    "system": "baseline_vit",
                    "variant": "official",
                    "paper": ["dscmn_v1_t2_vit_baseline"],
                },
                {
                    "key": "vit_ours",
                    "label": "ViT (ours)",
                    "system": "dscmn",
                    "variant": "V",
                    "paper": ["dscmn_v1_t2_vit_ours"],
                },
                {
                    "key": "wav2vec2_baseline",
                    "label": "Wav2Vec2 (baseline)",
                    "system": "baseline_wav2vec2",
                    "variant": "official",
                    "paper": ["dscmn_v1_t2_wav2vec2_baseline"],
                },
            ],
        },
        "table3": {
            "title": "Table 3: multimodal",
            "rows": [
                {
                    "key": "vat",
                    "label": "V+A+T",
                    "system": "dscmn",
                    "variant": "VAT",
                    "paper": ["dscmn_v1_t3_vat"],
                },
            ],
        },
        "systems": {
            "title": "Systems",
            "rows": [
                {
                    "key": "baseline_vit",
                    "label": "ViT+GRU baseline",
                    "system": "baseline_vit",
                    "variant": "official",
                },
                {
                    "key": "baseline_wav2vec2",
                    "label": "Wav2Vec2 baseline",
                    "system": "baseline_wav2vec2",
                    "variant": "official",
                },
                {
                    "key": "dscmn",
                    "label": "DSCMN (V+A+T)",
                    "system": "dscmn",
                    "variant": "VAT",
                    "paper": ["dscmn_v1_t3_vat", "dscmn_v3_vat"],
                },
                {
                    "key": "baseline_fusion",
                    "label": "baseline fusion",
                    "system": "baseline_fusion",
                    "variant": "VA_official",
                },
                {
                    "key": "late_fusion",
                    "label": "Late fusion",
                    "system": "late_fusion",
                    "variant": "VAT",
                },
            ],
        },
        "ablations": {
            "title": "Ablations",
            "rows": [
                {"key": "full", "label": "DSCMN", "system": "dscmn", "variant": "VAT"},
                {"key": "v_only", "label": "visual only", "system": "dscmn", "variant": "V"},
            ],
        },
    },
    "leaderboard": {"table": "systems", "ablations": [{"table": "ablations", "full": "full"}]},
    "robustness": {
        "rows": [
            {
                "key": "vit",
                "label": "ViT baseline",
                "system": "baseline_vit",
                "variant": "official",
            },
            {"key": "dscmn_v", "label": "DSCMN V", "system": "dscmn", "variant": "V"},
            {"key": "dscmn", "label": "DSCMN V+A+T", "system": "dscmn", "variant": "VAT"},
        ],
        "compare": [{"key": "vat_vs_v", "label": "V+A+T minus V", "a": "dscmn", "b": "dscmn_v"}],
        "fusion": {"system": "dscmn", "variant": "VAT"},
    },
    "figures": {
        "fusion": {"system": "dscmn", "variant": "VAT"},
        "snr_bins_db": [10, 20],
        "scatter_max_points": 3000,
        "ablation_tables": ["table2", "table3"],
    },
}


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t" if path.suffix == ".tsv" else ",", index=False)


def make_fake_project(
    root: str | Path, n_valid: int = 60, n_test: int = 50, n_train: int = 20
) -> dict:
    """Write the fake project; returns its paths (``runs``: every metrics.json) and the labels."""
    root = Path(root)
    rng = np.random.default_rng(123)
    counts = {"train": n_train, "valid": n_valid, "test": n_test}
    ids, start = {}, 0
    for split, n in counts.items():
        ids[split] = [format_id(i) for i in range(start, start + n)]
        start += n
    latents = {
        s: rng.uniform(0, 1, (n, 6)) * (rng.uniform(size=(n, 6)) < 0.5) for s, n in counts.items()
    }
    labels = {
        s: np.round(np.clip(latents[s] + rng.normal(0, 0.15, latents[s].shape), 0, 1) * 10) / 10
        for s in counts
    }

    manifest = []
    for split in counts:
        for i, clip in enumerate(ids[split]):
            row = {
                "id": clip,
                "split": split,
                "shard": 0,
                "status": "ok",
                "reason": "",
                "has_audio": bool(i % 5),
                "duration_s": 2.0,
            }
            row.update(
                {
                    e: (labels[split][i, k] if split != "test" else np.nan)
                    for k, e in enumerate(EMOTIONS)
                }
            )
            manifest.append(row)
    _write_csv(pd.DataFrame(manifest), root / "manifest.tsv")
    test = pd.DataFrame(labels["test"], columns=list(EMOTIONS))
    test.insert(0, "Filename", [int(i) for i in ids["test"]])
    _write_csv(test, root / "test_labels.csv")

    lat_rows = []
    for split in counts:
        for i, clip in enumerate(ids[split]):
            row = {"id": clip, "split": split}
            row.update({f"latent_{e}": latents[split][i, k] for k, e in enumerate(EMOTIONS)})
            row.update(
                occluded=bool(i % 4 == 0),
                silent=bool(i % 7 == 0),
                has_audio_track=bool(i % 5),
                snr_db=float(5 + (i * 3) % 25),
            )
            lat_rows.append(row)
    _write_csv(pd.DataFrame(lat_rows), root / "latents.csv")

    _write_csv(
        pd.DataFrame(
            {
                "split": ["train", "valid", "test", "total"],
                "clips": [n_train, n_valid, n_test, n_train + n_valid + n_test],
                "duration": ["0:00:40", "0:02:00", "0:01:40", "0:04:20"],
            }
        ),
        root / "table1.csv",
    )
    (root / "table1.md").write_text("| split | clips |\n|---|---|\n| train | 20 |\n")
    (root / "data_report.md").write_text("# Data report\n\nAll clips decoded.\n")
    epochs = np.arange(1, 6)
    _write_csv(
        pd.concat(
            pd.DataFrame(
                {
                    "epoch": epochs,
                    "pair": pair,
                    "lr": 1e-5 * 0.5**epochs,
                    "train_loss": 3.0 / epochs,
                    "valid_loss": 3.2 / epochs,
                    "valid_recall_at_1": 0.1 * epochs,
                    "valid_recall_at_5": 0.18 * epochs,
                    "n_train": 20,
                    "n_left_out": 0,
                    "selected": epochs == 4,
                }
            )
            for pair in ("vision_text", "audio_text")
        ),
        root / "stage1" / "joint" / "seed0" / "log.tsv",
    )

    metric_paths = []
    for system, variant, features, modalities, noise in RUNS:
        for seed in SEEDS:
            run = root / "runs" / system / variant / f"seed{seed}"
            srng = np.random.default_rng(zlib.crc32(f"{system}/{variant}/{seed}".encode()))
            splits = {}
            for split in ("valid", "test"):
                pred = np.clip(labels[split] + srng.normal(0, noise, labels[split].shape), 0, 1)
                frame = pd.DataFrame(pred, columns=list(EMOTIONS))
                frame.insert(0, "id", ids[split])
                _write_csv(frame, run / f"predictions_{split}.csv")
                per = pearson_per_emotion(labels[split], pred)
                splits[split] = {
                    "mean_pearson": float(np.mean(list(per.values()))),
                    "pearson": per,
                    "n_clips": len(pred),
                    "n_missing": {"V": 0, "A": 0, "T": 0},
                }
                if system == "dscmn":
                    w = srng.dirichlet([2, 2, 2], len(pred))
                    weights = pd.DataFrame(w, columns=["beta_v", "beta_a", "beta_t"])
                    weights.insert(0, "id", ids[split])
                    _write_csv(weights, run / f"fusion_weights_{split}.csv")
            n_params, n_encoder, encoder_lr = PARAMS[f"{system}/{variant}"]
            record = RunRecord(
                system=system,
                variant=variant,
                seed=seed,
                features=features,
                modalities=modalities,
                kind="model",
                splits={k: SplitScores(**v) for k, v in splits.items()},
                best_epoch=1,
                epochs_run=2,
                n_params=n_params,
                n_encoder_params=n_encoder,
                device="cpu",
                config={"train": {"encoder_lr": encoder_lr}},
            )
            write_record(record, run)
            _write_timing(run, srng, sum(counts.values()))
            _write_csv(
                pd.DataFrame(
                    {"epoch": [1, 2], "train_loss": [0.2, 0.1], "valid_mean_pearson": [0.1, 0.2]}
                ),
                run / "train_log.tsv",
            )
            metric_paths.append(run / "metrics.json")
    benchmarks = {}
    for k, (system, variant, *_) in enumerate(RUNS):
        benchmarks[f"{system}/{variant}"] = _write_benchmark(
            root / "benchmarks" / "train" / f"{system}_{variant}.tsv", 10.0 + k, 200.0 + 50 * k
        )
    for system, variant, kind, members in COMPOSITES:
        for seed in SEEDS:
            run = root / "runs" / system / variant / f"seed{seed}"
            member_dirs = [root / "runs" / m / f"seed{seed}" for m in members]
            metric_paths.append(
                _write_composite(run, system, variant, kind, seed, member_dirs, labels)
            )
            if kind == "stack":
                _write_timing(run, np.random.default_rng(seed), sum(counts.values()))
        if kind == "stack":
            benchmarks[f"{system}/{variant}"] = _write_benchmark(
                root / "benchmarks" / "stack" / f"{system}_{variant}.tsv", 3.0, 900.0
            )
    stage1_benchmarks = {
        "0": [
            _write_benchmark(root / "benchmarks" / "stage1" / f"{pair}_0.tsv", seconds, rss)
            for pair, seconds, rss in (("vision_text", 30.0, 700.0), ("audio_text", 20.0, 650.0))
        ]
    }
    return {
        "root": root,
        "runs": metric_paths,
        "benchmarks": benchmarks,
        "stage1_benchmarks": stage1_benchmarks,
        "manifest": root / "manifest.tsv",
        "test_labels": root / "test_labels.csv",
        "latents": root / "latents.csv",
        "table1_csv": root / "table1.csv",
        "table1_md": root / "table1.md",
        "data_report": root / "data_report.md",
        "stage1_logs": [root / "stage1" / "joint" / "seed0" / "log.tsv"],
        "labels": labels,
        "ids": ids,
    }


def _write_timing(run: Path, rng: np.random.Generator, n_clips: int) -> None:
    """A timing.json with planted, seed-dependent seconds (as the trainer writes it)."""
    timing = {
        "train_seconds": round(float(rng.uniform(1, 5)), 3),
        "predict_seconds": round(float(rng.uniform(0.01, 0.05)), 4),
        "n_predicted_clips": n_clips,
    }
    (run / "timing.json").write_text(json.dumps(timing))


def _write_benchmark(path: Path, seconds: float, max_rss: float) -> Path:
    """A Snakemake benchmark TSV of one job (its columns; one row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        BENCH_HEADER
        + f"{seconds:.2f}\t0:00:{int(seconds):02d}\t{max_rss:.2f}\t900.00\t80.00\t90.00"
        + "\t0.10\t0.20\t95.00\t3.50\n"
    )
    return path


def _write_composite(
    run: Path, system: str, variant: str, kind: str, seed: int, members: list[Path], labels: dict
) -> Path:
    """A fused or late-fusion run: the members' mean predictions; metrics.json as
    emibench.evaluate.fusion and emibench.train.stacking write it."""
    splits = {}
    for split in ("valid", "test"):
        frames = [pd.read_csv(m / f"predictions_{split}.csv", dtype={"id": str}) for m in members]
        pred = np.mean([f[list(EMOTIONS)].to_numpy() for f in frames], axis=0)
        frame = pd.DataFrame(pred, columns=list(EMOTIONS))
        frame.insert(0, "id", frames[0]["id"])
        _write_csv(frame, run / f"predictions_{split}.csv")
        per = pearson_per_emotion(labels[split], pred)
        splits[split] = {
            "mean_pearson": float(np.mean(list(per.values()))),
            "pearson": per,
            "n_clips": len(pred),
        }
    names = [f"{m.parent.parent.name}/{m.parent.name}/{m.name}" for m in members]
    fused = kind == "fuse"
    record = RunRecord(
        system=system,
        variant=variant,
        seed=seed,
        features="official" if fused else "stage1",
        modalities="VA" if fused else "VAT",
        kind=kind,
        splits={k: SplitScores(**v) for k, v in splits.items()},
        n_params=(
            sum(read_record(m).n_params for m in members)
            if fused
            else PARAMS[f"{system}/{variant}"][0]
        ),
        device="none" if fused else "cpu",
        members=[str(m) for m in members],
        config={"members": names} if fused else {"train": {"encoder_lr": 0.0}, "members": names},
    )
    write_record(record, run)
    return run / "metrics.json"


# condition -> (ops, extra noise sd per modality the condition hurts)
CONDITIONS = {
    "occlusion50": ([{"op": "occlude", "share": 0.5}], {"V": 0.3}),
    "noise0db": ([{"op": "noise", "snr_db": 0}], {"A": 0.4}),
    "audio_removed": ([{"op": "remove_audio"}], {"A": 0.8}),
}


def make_fake_conditions(fake: dict) -> list[Path]:
    """Each fake run's folder under each of CONDITIONS (``robustness/<condition>/`` with
    metrics.json, predictions_valid.csv and, for dscmn, fusion_weights_valid.csv): noisier
    predictions where the run reads a modality the condition hurts. Returns the metrics.json."""
    labels, ids = fake["labels"]["valid"], fake["ids"]["valid"]
    paths = []
    for system, variant, features, modalities, noise in RUNS:
        for seed in SEEDS:
            run = fake["root"] / "runs" / system / variant / f"seed{seed}"
            for condition, (ops, extra) in CONDITIONS.items():
                out = run / "robustness" / condition
                srng = np.random.default_rng(zlib.crc32(f"{run}/{condition}".encode()))
                sd = noise + sum(v for m, v in extra.items() if m in modalities)
                pred = np.clip(labels + srng.normal(0, sd, labels.shape), 0, 1)
                frame = pd.DataFrame(pred, columns=list(EMOTIONS))
                frame.insert(0, "id", ids)
                _write_csv(frame, out / "predictions_valid.csv")
                if system == "dscmn":
                    w = srng.dirichlet([2, 1, 2] if "A" in extra else [1, 2, 2], len(pred))
                    weights = pd.DataFrame(w, columns=["beta_v", "beta_a", "beta_t"])
                    weights.insert(0, "id", ids)
                    _write_csv(weights, out / "fusion_weights_valid.csv")
                per = pearson_per_emotion(labels, pred)
                scores = SplitScores(
                    float(np.mean(list(per.values()))), per, len(pred), {m: 0 for m in modalities}
                )
                clean = read_record(run)
                write_record(
                    clean.under(ConditionInfo(condition, ops, str(run)), {"valid": scores}), out
                )
                paths.append(out / "metrics.json")
    return paths


if __name__ == "__main__":
    print(make_fake_project(sys.argv[1])["root"])

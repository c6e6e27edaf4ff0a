"""Baseline fusion: the per-clip average of member runs' predictions, written as a run folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.evaluate.run_files import (
    predictions_path,
    read_metrics,
    read_predictions,
    split_scores,
    write_metrics,
    write_predictions,
)

log = logging.getLogger(__name__)


def average_predictions(run_dirs: list[str | Path], split: str, ids: list[str]) -> np.ndarray:
    """(N, 6) mean of the runs' ``predictions_{split}.csv`` in ``ids`` order; every run must
    predict exactly the clips ``ids``."""
    if not run_dirs:
        raise ValueError("nothing to average: no run folders given")
    total = np.zeros((len(ids), 6))
    for run_dir in run_dirs:
        path = predictions_path(run_dir, split)
        frame = read_predictions(path)
        if set(frame.index) != set(ids):
            lacking = sorted(set(ids) - set(frame.index))
            extra = sorted(set(frame.index) - set(ids))
            raise ValueError(
                f"{path}: predicted clips differ from the manifest's {split} split (lacking {lacking[:5]}, extra {extra[:5]})"
            )
        total += frame.loc[ids].to_numpy(float)
    return total / len(run_dirs)


def fuse_runs(
    member_dirs: list[str | Path],
    out_dir: str | Path,
    names: dict[str, object],
    manifest_path: str | Path,
    test_labels_path: str | Path | None = None,
) -> dict:
    """Average ``member_dirs`` into a run folder ``out_dir`` (same files as a trained run).

    ``names`` holds system, variant, seed, features and modalities for metrics.json. The folder
    gets predictions for every split, metrics.json (valid, and test where labels exist; n_missing
    merged from the members) and members.json naming the member runs.
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    members = [read_metrics(d) for d in member_dirs]
    splits: dict[str, dict] = {}
    for split in ("train", "valid", "test"):
        ids = split_ids(manifest, split)
        preds = average_predictions(member_dirs, split, ids)
        write_predictions(ids, preds, predictions_path(out_dir, split))
        labels = split_labels(manifest, split, test_labels)
        if split != "train" and labels is not None:
            n_missing: dict[str, int] = {}
            for m in members:
                n_missing.update(m.get("splits", {}).get(split, {}).get("n_missing", {}))
            splits[split] = split_scores(labels, preds) | {"n_missing": n_missing}
    (out_dir / "members.json").write_text(
        json.dumps({"kind": "average", "members": [str(d) for d in member_dirs]}, indent=2) + "\n"
    )
    metrics = {
        **names,
        "splits": splits,
        "best_epoch": 0,
        "epochs_run": 0,
        "n_params": sum(int(m.get("n_params", 0)) for m in members),
        "device": "none",
        "config": {
            "fuse": [str(d) for d in member_dirs],
            "members": [f"{m['system']}/{m['variant']}/seed{m['seed']}" for m in members],
        },
    }
    write_metrics(metrics, out_dir)
    return metrics

"""Baseline fusion: the per-clip average of member runs' predictions, written as a run folder.

One path for a fused run's clean folder (``emibench fuse``) and its folder under a robustness
condition (``emibench predict``): :func:`fuse_predictions` averages the members' predictions of
some splits into an output folder and scores the labelled ones.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.evaluate.record import (
    RunRecord,
    SplitScores,
    read_record,
    split_scores,
    write_record,
)
from emibench.evaluate.run_files import predictions_path, read_predictions, write_predictions

log = logging.getLogger(__name__)

SCORED = ("valid", "test")


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


def fuse_predictions(
    member_dirs: list[str | Path],
    out_dir: str | Path,
    splits: tuple[str, ...] | list[str],
    manifest_path: str | Path,
    test_labels_path: str | Path | None = None,
) -> dict[str, SplitScores]:
    """Write the members' mean predictions of ``splits`` into ``out_dir``; returns the scores
    of the labelled valid and test splits among them, with the clips lacking each modality merged
    from the members' records."""
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    members = [read_record(d) for d in member_dirs]
    scores: dict[str, SplitScores] = {}
    for split in splits:
        ids = split_ids(manifest, split)
        preds = average_predictions(member_dirs, split, ids)
        write_predictions(ids, preds, predictions_path(out_dir, split))
        labels = split_labels(manifest, split, test_labels)
        if split in SCORED and labels is not None:
            n_missing: dict[str, int] = {}
            for m in members:
                if split in m.splits:
                    n_missing.update(m.splits[split].n_missing)
            scores[split] = split_scores(labels, preds, n_missing)
    return scores


def fuse_run(
    member_dirs: list[str | Path],
    out_dir: str | Path,
    names: dict[str, object],
    manifest_path: str | Path,
    test_labels_path: str | Path | None = None,
) -> RunRecord:
    """A fused run folder ``out_dir`` (the files of a trained run): predictions for every split,
    its record, and members.json naming the member runs. ``names``: system, variant, seed,
    features and modalities."""
    out_dir = Path(out_dir)
    splits = fuse_predictions(
        member_dirs, out_dir, ("train", "valid", "test"), manifest_path, test_labels_path
    )
    members = [read_record(d) for d in member_dirs]
    (out_dir / "members.json").write_text(
        json.dumps({"kind": "average", "members": [str(d) for d in member_dirs]}, indent=2) + "\n"
    )
    record = RunRecord(
        **names,
        kind="fuse",
        splits=splits,
        n_params=sum(m.n_params for m in members),
        members=[str(d) for d in member_dirs],
        config={"members": [f"{m.system}/{m.variant}/seed{m.seed}" for m in members]},
    )
    write_record(record, out_dir)
    return record

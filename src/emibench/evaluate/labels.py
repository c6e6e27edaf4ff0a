"""Targets per split: train and valid from the manifest, test from the separate test-labels file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.labels import read_split_csv
from emibench.data.tables import read_table
from emibench.emotions import EMOTIONS, SPLITS

MANIFEST_COLUMNS = ("id", "split", *EMOTIONS)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """The manifest, checked for the columns Stage II needs (ids stay 5-digit strings)."""
    manifest = read_table(path)
    absent = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if absent:
        raise KeyError(f"{path}: manifest lacks column(s) {absent}")
    bad = sorted(set(manifest["split"]) - set(SPLITS))
    if bad:
        raise ValueError(f"{path}: unknown split(s) {bad}; expected {SPLITS}")
    if manifest["id"].duplicated().any():
        raise ValueError(
            f"{path}: duplicate clip ids {manifest['id'][manifest['id'].duplicated()].tolist()[:5]}"
        )
    return manifest


def split_ids(manifest: pd.DataFrame, split: str) -> list[str]:
    """Every clip id of ``split``, sorted, broken media included."""
    return sorted(manifest.loc[manifest["split"] == split, "id"])


def read_test_labels(path: str | Path | None, test_ids: list[str]) -> pd.DataFrame | None:
    """Test labels (header ``Filename,<six emotions>``) indexed by id, or None when hidden.

    An empty path, or a file with no rows, means hidden. The file is read and checked as a split
    CSV (``emibench.data.labels.read_split_csv``: errors name the file and line); one with rows
    must label every test clip of the manifest.
    """
    if not path:
        return None
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"test labels file not found: {path} (set dataset.test_labels to '' if hidden)"
        )
    table = read_split_csv(path).set_index("id")
    if table.empty:
        return None
    unlabelled = sorted(set(test_ids) - set(table.index))
    if unlabelled:
        raise KeyError(
            f"{path}: no label for {len(unlabelled)} test clip(s), e.g. {unlabelled[:5]}"
        )
    return table.loc[test_ids, list(EMOTIONS)].astype(float)


def split_labels(
    manifest: pd.DataFrame, split: str, test_labels: pd.DataFrame | None = None
) -> np.ndarray | None:
    """(N, 6) float targets of ``split`` in ``split_ids`` order; None where the split has none.

    Train and valid labels come from the manifest and must be complete; test labels only from
    ``test_labels`` (see read_test_labels).
    """
    ids = split_ids(manifest, split)
    if split == "test":
        return None if test_labels is None else test_labels.loc[ids, list(EMOTIONS)].to_numpy(float)
    rows = manifest.set_index("id").loc[ids, list(EMOTIONS)]
    values = rows.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values).all(1)
    if bad.any():
        raise ValueError(
            f"manifest: {split} clip(s) {list(np.array(ids)[bad][:5])} have empty or non-numeric labels"
        )
    return values

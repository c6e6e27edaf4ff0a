"""Reference scores: a results table's Pearson r per (system, variant, seed, split, emotion)
against a committed copy, so that a change that moves a score cannot go unnoticed.

A reference file (``reference/<dataset>.tsv``) holds SCORE_KEYS and ``pearson``, one row per
score, as ``emibench check-scores --update`` wrote it from a results table (``results.tsv`` of
``emibench collect``). ``moved_scores`` gives every row whose score differs by more than the
tolerance, appeared or disappeared; ``emibench check-scores`` prints them and fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.tables import read_table, write_table
from emibench.emotions import EMOTIONS

SCORE_KEYS = ["system", "variant", "seed", "split", "emotion"]
MOVED_COLUMNS = [*SCORE_KEYS, "old", "new"]
# Scores equal to this are the same score: the CPU runs are deterministic, this only absorbs a
# change of summation order in the metric itself.
TOLERANCE = 1e-6


def read_scores(path: str | Path) -> pd.DataFrame:
    """SCORE_KEYS and ``pearson`` of a results table or reference file, sorted by the keys; a
    missing column or a repeated row is an error naming the file."""
    frame = read_table(path)
    missing = [c for c in (*SCORE_KEYS, "pearson") if c not in frame.columns]
    if missing:
        raise KeyError(f"{path}: missing columns {missing}")
    frame = frame[[*SCORE_KEYS, "pearson"]].astype({"seed": int, "pearson": float})
    for key in ("system", "variant", "split", "emotion"):
        frame[key] = frame[key].astype(str)
    repeated = frame.duplicated(SCORE_KEYS, keep=False)
    if repeated.any():
        first = frame.loc[repeated, SCORE_KEYS].iloc[0].tolist()
        raise ValueError(f"{path}: {int(repeated.sum())} rows repeat their keys, e.g. {first}")
    return _sorted(frame)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    order = {e: i for i, e in enumerate((*EMOTIONS, "mean"))}
    return frame.sort_values(
        SCORE_KEYS, key=lambda c: c.map(order).fillna(len(order)) if c.name == "emotion" else c
    ).reset_index(drop=True)


def write_reference(results: str | Path, reference: str | Path) -> int:
    """Write ``reference`` from the results table ``results``; returns the number of scores."""
    scores = read_scores(results)
    write_table(scores, reference)
    return len(scores)


def moved_scores(
    reference: pd.DataFrame, results: pd.DataFrame, tolerance: float = TOLERANCE
) -> pd.DataFrame:
    """The rows (MOVED_COLUMNS) whose ``new`` score differs from the ``old`` by more than
    ``tolerance``, or that only one side has (NaN on the other); two NaN scores are equal."""
    joined = reference.merge(
        results, on=SCORE_KEYS, how="outer", suffixes=("_old", "_new"), indicator=True
    )
    old, new = joined["pearson_old"].to_numpy(), joined["pearson_new"].to_numpy()
    both = ~np.isnan(old) & ~np.isnan(new)
    beyond = np.zeros(len(joined), dtype=bool)
    beyond[both] = np.abs(old[both] - new[both]) > tolerance
    moved = (joined["_merge"] != "both").to_numpy() | (np.isnan(old) != np.isnan(new)) | beyond
    out = joined.loc[moved, [*SCORE_KEYS, "pearson_old", "pearson_new"]]
    return _sorted(out.rename(columns={"pearson_old": "old", "pearson_new": "new"}))


def describe_moved(moved: pd.DataFrame, n_scores: int, tolerance: float) -> str:
    """The failure message: how many scores moved, then every moved row."""
    runs = moved[["system", "variant", "seed"]].drop_duplicates()
    head = (
        f"{len(moved)} scores of {n_scores} moved by more than {tolerance:g}, in {len(runs)} "
        "runs (nan: no such row on that side):"
    )
    shown = moved.assign(
        old=moved["old"].map(lambda v: f"{v:.6f}"),
        new=moved["new"].map(lambda v: f"{v:.6f}"),
    )
    return head + "\n" + shown.to_string(index=False)

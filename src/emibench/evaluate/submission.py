"""Test-set submissions in the ABAW format, from a system's best variant averaged over seeds.

Format: header ``Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy``;
Filename is the integer clip id; one row per test clip of the manifest (broken media included),
sorted by Filename; values clipped to [0, 1], the labels' range (the runs' predictions files hold
the raw outputs, which every score is computed on).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.emotions import EMOTIONS, format_id
from emibench.evaluate.fusion import average_predictions
from emibench.evaluate.labels import read_manifest, split_ids
from emibench.evaluate.record import read_record

log = logging.getLogger(__name__)

HEADER = ("Filename", *EMOTIONS)


def clip01(values: np.ndarray) -> np.ndarray:
    """Predictions clipped to [0, 1], the labels' range, for the submission file."""
    return np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)


def choose_variant(
    run_dirs: list[str | Path],
) -> tuple[str, dict[str, float], dict[str, list[Path]]]:
    """The variant with the highest valid mean Pearson averaged over its seeds.

    Returns (chosen variant, {variant: mean valid score}, {variant: its run folders}). Ties go
    to the variant name that sorts first, so the choice is reproducible.
    """
    dirs: dict[str, list[Path]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    systems = set()
    for run_dir in run_dirs:
        record = read_record(run_dir)
        systems.add(record.system)
        if "valid" not in record.splits:
            raise KeyError(f"{run_dir}/metrics.json has no valid scores")
        scores[record.variant].append(float(record.splits["valid"].mean_pearson))
        dirs[record.variant].append(Path(run_dir))
    if len(systems) != 1:
        raise ValueError(
            f"a submission is for one system; the runs given belong to {sorted(systems)}"
        )
    means = {v: float(np.mean(s)) for v, s in sorted(scores.items())}
    chosen = min(means, key=lambda v: (-means[v], v))
    return chosen, means, dict(dirs)


def write_submission(
    run_dirs: list[str | Path],
    manifest_path: str | Path,
    out_csv: str | Path,
    info_json: str | Path | None = None,
) -> dict:
    """Write the submission CSV (and a JSON saying which variant and runs it came from)."""
    manifest = read_manifest(manifest_path)
    test_ids = split_ids(manifest, "test")
    if not test_ids:
        raise ValueError(f"{manifest_path}: no test clips to submit")
    variant, means, dirs = choose_variant(run_dirs)
    preds = clip01(average_predictions(dirs[variant], "test", test_ids))
    frame = pd.DataFrame(preds, columns=list(EMOTIONS))
    frame.insert(0, "Filename", [int(i) for i in test_ids])
    frame = frame.sort_values("Filename", kind="stable")
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_csv, index=False)
    check_submission(out_csv, test_ids)
    system = read_record(dirs[variant][0]).system
    test = manifest[manifest["split"] == "test"]
    broken = int((test["status"] == "broken").sum()) if "status" in test else 0
    info = {
        "system": system,
        "variant": variant,
        "runs": [str(d) for d in dirs[variant]],
        "valid_mean_pearson": means,
        "n_test_clips": len(test_ids),
        "n_broken_test_clips": broken,
    }
    if info_json:
        Path(info_json).write_text(json.dumps(info, indent=2) + "\n")
    return info


def check_submission(path: str | Path, test_ids: list[str]) -> None:
    """Raise unless ``path`` is a valid ABAW submission for exactly ``test_ids``."""
    frame = pd.read_csv(path)
    if tuple(frame.columns) != HEADER:
        raise ValueError(f"{path}: header {list(frame.columns)}, expected {list(HEADER)}")
    ids = [format_id(v) for v in frame["Filename"]]
    if ids != sorted(test_ids):
        raise ValueError(f"{path}: rows are not exactly the sorted test clips of the manifest")
    values = frame[list(EMOTIONS)].to_numpy(float)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError(f"{path}: values must be finite and within [0, 1]")

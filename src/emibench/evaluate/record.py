"""The run record: a run folder's ``metrics.json``, written and read by this module alone.

Every run has one, whatever made it (docs/architecture.md): a trained run (``kind`` model), a
fused run (fuse: the mean of its members) and a late-fusion run (stack); a run's record under a
robustness condition is the clean run's with that condition's scores and a ``condition`` block.
Scores are per labelled split; ``metrics.json`` holds results only (no timings), so two identical
runs write identical files.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emibench.emotions import EMOTIONS

FILE = "metrics.json"
KINDS = ("model", "fuse", "stack")
NAMES = ("system", "variant", "seed", "features", "modalities")


@dataclass(frozen=True)
class SplitScores:
    """One labelled split: mean and per-emotion Pearson, clips scored, clips lacking each
    modality."""

    mean_pearson: float
    pearson: dict[str, float]
    n_clips: int
    n_missing: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ConditionInfo:
    """Where a record under a robustness condition comes from: the condition, its ops, the clean
    run folder, and whether the run could be evaluated (else why not)."""

    condition: str
    condition_spec: list[dict[str, Any]]
    run_dir: str
    evaluated: bool = True
    reason: str = ""


@dataclass(frozen=True)
class RunRecord:
    """A run's metrics.json (see the module docstring)."""

    system: str
    variant: str
    seed: int
    features: str
    modalities: str
    kind: str
    splits: dict[str, SplitScores]
    best_epoch: int = 0
    # the epoch whose weights predicted (train.select: best, the best epoch; last, the last one)
    predicted_epoch: int = 0
    epochs_run: int = 0
    n_params: int = 0
    n_encoder_params: int = 0
    device: str = "none"
    members: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    condition: ConditionInfo | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"run record kind {self.kind!r}: expected one of {KINDS}")

    @property
    def names(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in NAMES}

    def under(
        self, info: ConditionInfo, splits: dict[str, SplitScores], members: list[str] = ()
    ) -> RunRecord:
        """This run's record under a condition: its scores there, its members' outputs there."""
        return dataclasses.replace(
            self, splits=splits, condition=info, members=list(members) or self.members
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        condition = data.pop("condition")
        return data | (condition or {})


def split_scores(labels, predictions, n_missing: dict[str, int] | None = None) -> SplitScores:
    """The scores of one split from its labels and predictions (N, 6)."""
    from emibench.evaluate.metrics import mean_pearson, pearson_per_emotion

    return SplitScores(
        mean_pearson(labels, predictions),
        pearson_per_emotion(labels, predictions),
        len(labels),
        dict(n_missing or {}),
    )


def write_record(record: RunRecord, run_dir: str | Path) -> Path:
    path = Path(run_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict(), indent=2) + "\n")
    return path


def read_record(where: str | Path) -> RunRecord:
    """The record of a run folder (or of a metrics.json path), checked: every key of the
    contract, six emotions per split; errors name the file and the key."""
    path = Path(where)
    if path.name != FILE:
        path = path / FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"run has no {FILE}: {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    return record_from_dict(data, str(path))


def record_from_dict(data: dict[str, Any], where: str) -> RunRecord:
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected a JSON object")
    fields = {f.name for f in dataclasses.fields(RunRecord)} - {"condition"}
    info_fields = {f.name for f in dataclasses.fields(ConditionInfo)}
    unknown = sorted(set(data) - fields - info_fields)
    if unknown:
        raise KeyError(f"{where}: unknown key(s) {unknown}")
    for key in (*NAMES, "kind", "splits"):
        if key not in data:
            raise KeyError(f"{where}: missing key {key!r}")
    splits = {}
    for split, scores in data["splits"].items():
        here = f"{where}: splits.{split}"
        for key in ("mean_pearson", "pearson", "n_clips"):
            if key not in scores:
                raise KeyError(f"{here}: missing key {key!r}")
        lacking = [e for e in EMOTIONS if e not in scores["pearson"]]
        if lacking:
            raise KeyError(f"{here}.pearson: missing emotion(s) {lacking}")
        splits[split] = SplitScores(**scores)
    condition = None
    if "condition" in data:
        condition = ConditionInfo(**{k: data[k] for k in info_fields if k in data})
    kwargs = {k: data[k] for k in fields if k in data}
    return RunRecord(**(kwargs | {"splits": splits, "condition": condition}))

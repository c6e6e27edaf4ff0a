"""Trained runs predicting from other stores, without retraining (``emibench predict``).

A run folder (docs/architecture.md) holds everything a prediction needs: ``model.pt`` (model
config, feature widths, weights and the train-split standardisation statistics) and its record
(the training settings: ``max_steps``, ``audio_rate``, ``eval_batch_size``, ``precision``). A run
predicts the clips of some splits from the stores given now: a robustness condition's
(docs/robustness.md) or the clean ones, which reproduces the run's own predictions exactly, in
the precision it was trained with. Data go through :func:`~emibench.train.data.load_run_data`
and the model through :func:`~emibench.train.trainer.predict_splits`, as in training. Fused runs
average their members' new predictions (``emibench.evaluate.fusion``), late-fusion runs apply
their fold regressors to them (``emibench.train.stacking``).

Each output folder gets ``predictions_{split}.csv``, ``fusion_weights_{split}.csv`` (trained
runs) and the run's record under the condition.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from emibench.evaluate.fusion import fuse_predictions
from emibench.evaluate.record import ConditionInfo, RunRecord, read_record, write_record
from emibench.modalities import input_keys
from emibench.models.registry import build_model, raw_modalities
from emibench.settings import ConfigError, settings_from
from emibench.tensor_files import load_plain
from emibench.train.data import RunData, load_run_data
from emibench.train.trainer import TrainConfig, predict_splits

log = logging.getLogger(__name__)

KINDS = ("model", "fuse", "stack", "skip")


@dataclass
class SavedRun:
    """A trained run as saved in its folder: its record, training settings, model and
    standardisation, and the options its inputs are read with (model.pt ``data``)."""

    run_dir: Path
    record: RunRecord
    train: TrainConfig
    config: dict
    model: nn.Module
    standardize: dict | None
    data: dict


def load_saved_run(run_dir: str | Path, device: torch.device) -> SavedRun:
    """The run of ``run_dir`` (model.pt and its record) with its model on ``device``, in eval
    mode."""
    run_dir = Path(run_dir)
    path = run_dir / "model.pt"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no model.pt")
    saved = load_plain(path)
    record = read_record(run_dir)
    train = settings_from(
        TrainConfig, record.config.get("train", {}), f"{run_dir}/metrics.json config.train"
    )
    model = build_model(saved["model_config"], saved["dims"], saved["modalities"])
    model.load_state_dict(saved["state_dict"])
    model.to(device).eval()
    data = {**saved["data"], "standardize": False}
    config = saved["model_config"]
    return SavedRun(run_dir, record, train, config, model, saved.get("standardize"), data)


def _standardize(data: RunData, run: SavedRun) -> None:
    """Put the run's own train statistics on the loaded features (shared between runs)."""
    for key, feat in data.features.items():
        state = None if run.standardize is None else run.standardize.get(key)
        if run.standardize is not None and state is None:
            raise KeyError(f"{run.run_dir}/model.pt has no standardisation for modality {key}")
        feat.load_state(state)


def predict_run(
    run: SavedRun,
    data: RunData,
    splits: tuple[str, ...],
    out_dir: str | Path,
    info: ConditionInfo,
    device: torch.device,
) -> RunRecord:
    """Predict ``splits`` with ``run`` on ``data``; write the output folder and its record."""
    _standardize(data, run)
    scores = predict_splits(run.model, data, splits, out_dir, run.train, device)
    record = run.record.under(info, scores)
    write_record(record, out_dir)
    return record


def predict_runs(job, device: torch.device) -> list[RunRecord]:
    """Every run of a condition's predict job (``emibench.plan.jobs.PredictJob``): trained runs
    first, then fused and late-fusion runs, which read their members' new outputs.

    Trained runs reading the same stores with the same data options share one load; they run
    grouped by the stores they read, and a group's loads are freed when the next group starts,
    so the job holds one group's stores at a time. Returns each output's record.
    """
    from emibench.train.stacking import stack_predict

    splits = tuple(job.splits)
    bad = [s for s in splits if s not in ("train", "valid", "test")]
    if bad or not splits:
        raise ConfigError(f"predict: splits must be among train, valid, test; got {list(splits)}")
    unknown = [r.kind for r in job.runs if r.kind not in KINDS]
    if unknown:
        raise ConfigError(f"predict: run kinds {unknown}; expected some of {KINDS}")
    test_labels = job.test_labels or None
    loaded: dict[tuple, RunData] = {}
    results = []
    order = {"model": 0, "skip": 0, "fuse": 1, "stack": 1}
    group = None
    for run in sorted(job.runs, key=lambda r: (order[r.kind], sorted(r.stores.items()))):
        start = time.perf_counter()
        info = ConditionInfo(job.condition, job.spec, run.run_dir)
        if run.kind == "skip":
            info = ConditionInfo(job.condition, job.spec, run.run_dir, False, run.reason)
            record = read_record(run.run_dir).under(info, {})
            write_record(record, run.out_dir)
        elif run.kind == "fuse":
            scores = fuse_predictions(run.members, run.out_dir, splits, job.manifest, test_labels)
            record = read_record(run.run_dir).under(info, scores, run.members)
            write_record(record, run.out_dir)
        elif run.kind == "stack":
            scores = stack_predict(
                run.run_dir,
                run.members,
                job.manifest,
                job.run_stores(run),
                splits,
                run.out_dir,
                device,
                test_labels,
            )
            record = read_record(run.run_dir).under(info, scores, run.members)
            write_record(record, run.out_dir)
        else:
            saved = load_saved_run(run.run_dir, device)
            names = saved.record
            used = input_keys(names.modalities, raw_modalities(saved.config, names.modalities))
            stores = job.run_stores(run)
            if sorted(used) != sorted(stores):
                raise ConfigError(
                    f"{run.run_dir} reads the stores {' '.join(used)}; stores were given for "
                    f"{' '.join(sorted(stores))}"
                )
            key = (tuple(sorted(run.stores.items())), json.dumps(saved.data, sort_keys=True))
            if key[0] != group:
                loaded.clear()
                group = key[0]
            if key not in loaded:
                loaded[key] = load_run_data(
                    job.manifest, stores, test_labels, splits=splits, **saved.data
                )
            record = predict_run(saved, loaded[key], splits, run.out_dir, info, device)
        results.append(record)
        log.info(
            "%s/%s seed %s under %s (%s): %s (%.1f s)",
            record.system,
            record.variant,
            record.seed,
            job.condition,
            run.kind,
            _summary(record),
            time.perf_counter() - start,
        )
    return results


def _summary(record: RunRecord) -> str:
    if record.condition is not None and not record.condition.evaluated:
        return f"not evaluated: {record.condition.reason}"
    scores = ", ".join(f"{s} {v.mean_pearson:.4f}" for s, v in record.splits.items())
    return f"mean Pearson {scores}" if scores else "no labelled split"

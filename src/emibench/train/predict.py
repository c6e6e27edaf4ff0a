"""Trained runs predicting from other stores, without retraining (``emibench predict``).

A run folder (docs/architecture.md) holds everything a prediction needs: ``model.pt`` (model
config, feature widths, weights and the train-split standardisation statistics) and
``metrics.json`` (the training settings: ``max_steps``, ``audio_rate``, ``eval_batch_size``).
A run predicts the clips of some splits from the stores given now: a robustness condition's
(docs/robustness.md) or the clean ones, which reproduces the run's own predictions exactly.
Data go through :func:`~emibench.train.data.load_run_data` and the model through
:func:`~emibench.train.trainer.predict`, as in training. Fused systems average their members'
new predictions (``emibench.evaluate.fusion``).

Each output folder gets ``predictions_{split}.csv``, ``fusion_weights_{split}.csv`` (models that
expose fusion weights) and ``metrics.json``: the run's names, the condition and its ops, and per
labelled split the scores with the clips lacking each modality.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from emibench.evaluate.fusion import average_predictions
from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.evaluate.run_files import (
    clip01,
    predictions_path,
    read_metrics,
    split_scores,
    write_fusion_weights,
    write_metrics,
    write_predictions,
)
from emibench.models.inputs import input_keys
from emibench.models.registry import build_model, raw_modalities
from emibench.settings import ConfigError, settings_from
from emibench.tensor_files import load_plain
from emibench.train.data import RunData, load_run_data
from emibench.train.trainer import TrainConfig, predict

log = logging.getLogger(__name__)

NAMES = ("system", "variant", "seed", "features", "modalities")


@dataclass
class SavedRun:
    """A trained run as saved in its folder: names, training settings, model config and model,
    standardisation, and the options its inputs are read with (model.pt ``data``)."""

    run_dir: Path
    names: dict
    train: TrainConfig
    config: dict
    model: nn.Module
    standardize: dict | None
    data: dict


def load_saved_run(run_dir: str | Path, device: torch.device) -> SavedRun:
    """The run of ``run_dir`` (model.pt and metrics.json) with its model on ``device``, in eval mode."""
    run_dir = Path(run_dir)
    path = run_dir / "model.pt"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no model.pt (a fused run? give it with --fuse)")
    saved = load_plain(path)
    metrics = read_metrics(run_dir)
    train = settings_from(
        TrainConfig,
        metrics.get("config", {}).get("train", {}),
        f"{run_dir}/metrics.json config.train",
    )
    model = build_model(saved["model_config"], saved["dims"], saved["modalities"])
    model.load_state_dict(saved["state_dict"])
    model.to(device).eval()
    data = {**saved["data"], "standardize": False}
    names = {k: metrics[k] for k in NAMES}
    config = saved["model_config"]
    return SavedRun(run_dir, names, train, config, model, saved.get("standardize"), data)


def _standardize(data: RunData, run: SavedRun) -> None:
    """Put the run's own train statistics on the loaded features (shared between runs)."""
    for key, feat in data.features.items():
        state = None if run.standardize is None else run.standardize.get(key)
        if run.standardize is not None and state is None:
            raise KeyError(f"{run.run_dir}/model.pt has no standardisation for modality {key}")
        feat.load_state(state)


def _write_member_outcome(
    names: dict,
    condition: str,
    spec: object,
    scores: dict,
    run_dir: str | Path,
    member_outs: list[str | Path],
    out_dir: str | Path,
) -> dict:
    """metrics.json of a run built on member runs (fused, late fusion) under the condition."""
    metrics = _condition_metrics(names, condition, spec, scores, run_dir)
    metrics["members"] = [str(d) for d in member_outs]
    write_metrics(metrics, out_dir)
    return metrics


def _condition_metrics(names: dict, condition: str, spec: object, splits: dict, source) -> dict:
    return {
        **names,
        "condition": condition,
        "condition_spec": spec,
        "run_dir": str(source),
        "splits": splits,
    }


def predict_run(
    run: SavedRun,
    data: RunData,
    splits: tuple[str, ...],
    out_dir: str | Path,
    condition: str,
    spec: object,
    device: torch.device,
) -> dict:
    """Predict ``splits`` with ``run`` on ``data``; write the output folder. Returns metrics.json."""
    out_dir = Path(out_dir)
    _standardize(data, run)
    scores: dict[str, dict] = {}
    for split in splits:
        preds, weights = predict(run.model, data, split, run.train.eval_batch_size, device)
        preds = clip01(preds)
        write_predictions(data.ids[split], preds, predictions_path(out_dir, split))
        if weights is not None:
            write_fusion_weights(data.ids[split], weights, out_dir / f"fusion_weights_{split}.csv")
        if data.labels[split] is not None:
            scores[split] = split_scores(data.labels[split], preds) | {
                "n_missing": data.n_missing(split)
            }
    metrics = _condition_metrics(run.names, condition, spec, scores, run.run_dir)
    write_metrics(metrics, out_dir)
    return metrics


def fuse_outputs(
    run_dir: str | Path,
    member_outs: list[str | Path],
    out_dir: str | Path,
    splits: tuple[str, ...],
    manifest_path: str | Path,
    test_labels_path: str | Path | None,
    condition: str,
    spec: object,
) -> dict:
    """A fused run (``run_dir``, e.g. baseline_fusion) under the condition: the mean of its
    members' new predictions (``member_outs``), written to ``out_dir``. Returns metrics.json."""
    out_dir = Path(out_dir)
    names = {k: read_metrics(run_dir)[k] for k in NAMES}
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    members = [read_metrics(d) for d in member_outs]
    scores: dict[str, dict] = {}
    for split in splits:
        ids = split_ids(manifest, split)
        preds = average_predictions(member_outs, split, ids)
        write_predictions(ids, preds, predictions_path(out_dir, split))
        labels = split_labels(manifest, split, test_labels)
        if labels is not None:
            n_missing: dict[str, int] = {}
            for m in members:
                n_missing.update(m["splits"].get(split, {}).get("n_missing", {}))
            scores[split] = split_scores(labels, preds) | {"n_missing": n_missing}
    return _write_member_outcome(names, condition, spec, scores, run_dir, member_outs, out_dir)


def predict_stacked(
    run_dir: str | Path,
    member_outs: list[str | Path],
    stores: dict[str, list[str]],
    out_dir: str | Path,
    splits: tuple[str, ...],
    manifest_path: str | Path,
    test_labels_path: str | Path | None,
    condition: str,
    spec: object,
    device: torch.device,
) -> dict:
    """A late-fusion run (``run_dir``) under the condition: its fold regressors on its members'
    new predictions (``member_outs``) and the condition's modality presence (``stores``),
    written to ``out_dir``. Returns metrics.json."""
    from emibench.train.stacking import stack_predict

    out_dir = Path(out_dir)
    names = {k: read_metrics(run_dir)[k] for k in NAMES}
    ids, preds, present = stack_predict(run_dir, member_outs, manifest_path, stores, splits, device)
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    scores: dict[str, dict] = {}
    start = 0
    for split in splits:
        values = clip01(preds[split])
        write_predictions(ids[split], values, predictions_path(out_dir, split))
        labels = split_labels(manifest, split, test_labels)
        rows = slice(start, start + len(ids[split]))
        start += len(ids[split])
        if labels is not None:
            n_missing = {m: int((~present[rows, k]).sum()) for k, m in enumerate(stores)}
            scores[split] = split_scores(labels, values) | {"n_missing": n_missing}
    return _write_member_outcome(names, condition, spec, scores, run_dir, member_outs, out_dir)


def skip_run(
    run_dir: str | Path, out_dir: str | Path, condition: str, spec: object, reason: str
) -> dict:
    """The output folder of a run not evaluated under the condition: metrics.json alone, with no
    scores, ``evaluated: false`` and the reason (the tables show "not evaluated")."""
    names = {k: read_metrics(run_dir)[k] for k in NAMES}
    metrics = _condition_metrics(names, condition, spec, {}, run_dir)
    metrics |= {"evaluated": False, "reason": reason}
    write_metrics(metrics, out_dir)
    return metrics


@dataclass
class PredictJob:
    """One trained run to predict: its folder, the output folder and its stores by key."""

    run_dir: str
    out_dir: str
    stores: dict[str, list[str]]


def predict_runs(
    jobs: list[PredictJob],
    fused: list[tuple[str, str, list[str]]],
    stacked: list[tuple[PredictJob, list[str]]],
    splits: tuple[str, ...],
    manifest: str | Path,
    test_labels: str | Path | None,
    condition: str,
    spec: object,
    device: torch.device,
) -> list[dict]:
    """Every trained run of ``jobs``, then every fused run ``(run_dir, out_dir, member outs)``,
    then every late-fusion run ``(its job: folders and stores, member outs)``.

    Runs reading the same stores with the same ``max_steps`` and ``audio_rate`` share one load.
    Returns each output's metrics.json.
    """
    bad = [s for s in splits if s not in ("train", "valid", "test")]
    if bad or not splits:
        raise ConfigError(f"predict: splits must be among train, valid, test; got {list(splits)}")
    loaded: dict[tuple, RunData] = {}
    results = []
    for job in jobs:
        start = time.perf_counter()
        run = load_saved_run(job.run_dir, device)
        used = input_keys(
            run.names["modalities"], raw_modalities(run.config, run.names["modalities"])
        )
        if sorted(used) != sorted(job.stores):
            raise ConfigError(
                f"{job.run_dir} reads the stores {' '.join(used)}; stores were given for "
                f"{' '.join(sorted(job.stores))}"
            )
        key = (
            tuple((k, tuple(job.stores[k])) for k in sorted(job.stores)),
            json.dumps(run.data, sort_keys=True),
        )
        if key not in loaded:
            loaded[key] = load_run_data(
                manifest, job.stores, test_labels, splits=splits, **run.data
            )
        metrics = predict_run(run, loaded[key], splits, job.out_dir, condition, spec, device)
        results.append(metrics)
        log.info(
            "%s/%s seed %s under %s: %s (%.1f s)",
            run.names["system"],
            run.names["variant"],
            run.names["seed"],
            condition,
            _summary(metrics),
            time.perf_counter() - start,
        )
    for run_dir, out_dir, members in fused:
        metrics = fuse_outputs(
            run_dir, members, out_dir, splits, manifest, test_labels, condition, spec
        )
        results.append(metrics)
        log.info(
            "%s/%s seed %s under %s (mean of %d members): %s",
            metrics["system"],
            metrics["variant"],
            metrics["seed"],
            condition,
            len(members),
            _summary(metrics),
        )
    for job, members in stacked:
        metrics = predict_stacked(
            job.run_dir,
            members,
            job.stores,
            job.out_dir,
            splits,
            manifest,
            test_labels,
            condition,
            spec,
            device,
        )
        results.append(metrics)
        log.info(
            "%s/%s seed %s under %s (late fusion of %d members): %s",
            metrics["system"],
            metrics["variant"],
            metrics["seed"],
            condition,
            len(members),
            _summary(metrics),
        )
    return results


def _summary(metrics: dict) -> str:
    scores = ", ".join(f"{s} {v['mean_pearson']:.4f}" for s, v in metrics["splits"].items())
    return f"mean Pearson {scores}" if scores else "no labelled split"

"""Late fusion trained on member runs' predictions (``emibench stack``), without leaking labels.

A stacked run reads, for one seed, the predictions of its member runs (modality-specific models
trained first, each a run folder) and trains ``LateFusionRegressor`` on them with the trainer's
own ``fit`` (loss, optimizer, EMA, early stopping from the run's ``train`` settings).

Which clips the regressor learns from (``fit_on``):

- ``valid`` (default): the members' train-split predictions are fitted to their own labels (the
  members trained on them), so a regressor learnt there trusts whichever member overfits most.
  Their valid predictions are honest, so the regressor is cross-fitted on the valid split: the
  valid clips are cut into ``folds``; for each fold a regressor learns from the other folds (a
  ``holdout`` share of them kept for its early stopping) and predicts the fold. Every valid
  prediction thus comes from a regressor that never saw that clip, and the valid score is fair.
  Train and test predictions are the mean of the fold regressors. Each fold seeds torch on its
  own (seed, fold), so a fold's regressor depends on no other fold's clips.
- ``train``: one regressor on the members' train predictions, early-stopped on valid, as a
  write-up would train it; kept to show the leak (docs/peers.md).

The run folder is a trained run's: predictions for every clip of every split, metrics.json,
timing.json (the folds' fitting and predicting seconds), train_log.tsv (a ``fold`` column first),
and model.pt holding every fold's weights.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from emibench.data.store import SequenceReader
from emibench.data.tables import write_table
from emibench.devices import describe_device
from emibench.emotions import EMOTIONS
from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.evaluate.record import (
    NAMES,
    RunRecord,
    SplitScores,
    read_record,
    split_scores,
    write_record,
)
from emibench.evaluate.run_files import (
    LOG_COLUMNS,
    predictions_path,
    read_predictions,
    write_predictions,
    write_timing,
)
from emibench.models.inputs import MODALITY_NAMES, parse_modalities
from emibench.models.late_fusion import HEADS, LateFusionRegressor, MemberBatch
from emibench.settings import ConfigError, settings_from
from emibench.tensor_files import load_plain
from emibench.train.seed import seed_everything
from emibench.train.trainer import TrainConfig, check_run_config, fit, predict

log = logging.getLogger(__name__)

FIT_ON = ("valid", "train")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class StackSettings:
    """Config ``stack`` of a late-fusion system (docs/peers.md)."""

    members: tuple[str, ...]
    head: str = "weights"
    hidden: int = 64
    dropout: float = 0.1
    modality_dropout: float = 0.1
    fit_on: str = "valid"
    folds: int = 5
    holdout: float = 0.2

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ConfigError(f"members: at least two runs to fuse, got {list(self.members)}")
        if self.head not in HEADS:
            raise ConfigError(f"head {self.head!r}: expected one of {HEADS}")
        if self.fit_on not in FIT_ON:
            raise ConfigError(f"fit_on {self.fit_on!r}: expected one of {FIT_ON}")
        if self.folds < 2:
            raise ConfigError(f"folds {self.folds}: must be >= 2")
        if not 0 < self.holdout < 1:
            raise ConfigError(f"holdout {self.holdout}: must be within (0, 1)")


@dataclass
class StackSpec:
    """What a stacked run is: names, seed, feature set and modalities, settings."""

    system: str
    variant: str
    seed: int
    features: str
    modalities: str
    stack: StackSettings
    train: TrainConfig

    @property
    def names(self) -> dict[str, object]:
        """The names a run record starts with."""
        return {k: getattr(self, k) for k in NAMES}

    @classmethod
    def from_config(cls, system: str, variant: str, seed: int, config: dict) -> StackSpec:
        """From the resolved run config ``{features, modalities, stack, train}``."""
        train = check_run_config(system, variant, config, "stack")
        stack = settings_from(
            StackSettings, config["stack"], f"run config of {system}/{variant}: stack"
        )
        return cls(
            system, variant, int(seed), config["features"], config["modalities"], stack, train
        )


class StackData:
    """Member predictions and modality presence of every clip, batched for ``fit`` and ``predict``.

    preds (N, M, 6), present (N, K) bool and targets (N, 6) (NaN where unknown) are rows of the
    clips in ``rows``; ``ids`` and ``labels`` map a split name to its clips and their targets,
    so a fold's data is ``subset({"train": [...], "valid": [...]})`` over the same arrays.
    """

    def __init__(
        self,
        rows: dict[str, int],
        preds: np.ndarray,
        present: np.ndarray,
        targets: np.ndarray,
        ids: dict[str, list[str]],
    ):
        self.rows, self.preds, self.present, self.targets = rows, preds, present, targets
        self.ids = ids
        self.labels: dict[str, np.ndarray | None] = {}
        for split, clips in ids.items():
            values = targets[[rows[i] for i in clips]] if clips else np.zeros((0, 6))
            self.labels[split] = None if np.isnan(values).any() else values

    def subset(self, ids: dict[str, list[str]]) -> StackData:
        return StackData(self.rows, self.preds, self.present, self.targets, ids)

    def batch(self, ids: list[str]) -> MemberBatch:
        rows = [self.rows[i] for i in ids]
        return MemberBatch(
            list(ids),
            torch.from_numpy(self.preds[rows]),
            torch.from_numpy(self.present[rows]),
            torch.from_numpy(self.targets[rows]),
        )

    def batches(
        self,
        split: str,
        batch_size: int,
        rng: np.random.Generator | None = None,
        bucket: bool = True,
    ) -> Iterator[MemberBatch]:
        """Batches over ``split``, shuffled with ``rng`` (training); ``bucket`` has nothing to
        sort here (one vector per clip) and is accepted for the trainer's call."""
        ids = list(self.ids[split])
        if rng is not None:
            ids = [ids[k] for k in rng.permutation(len(ids))]
        for k in range(0, len(ids), batch_size):
            yield self.batch(ids[k : k + batch_size])


def _in_order(stores: dict[str, list], letters: tuple[str, ...]) -> dict[str, list]:
    """The run's stores in the order of its modalities (the presence columns follow it)."""
    if sorted(stores) != sorted(letters):
        raise ValueError(f"stores for modalities {sorted(stores)}, the run uses {list(letters)}")
    return {m: stores[m] for m in letters}


def read_presence(stores: dict[str, list[str | Path]], ids: list[str]) -> np.ndarray:
    """(N, K) bool: whether each clip has each modality of ``stores`` (K = their order), by the
    trainer's rule: an entry that is not ``missing`` and has steps."""
    present = np.zeros((len(ids), len(stores)), bool)
    for k, (modality, paths) in enumerate(stores.items()):
        with SequenceReader(paths) as reader:
            for n, clip_id in enumerate(ids):
                if clip_id not in reader:
                    raise KeyError(
                        f"clip {clip_id} has no {MODALITY_NAMES[modality]} entry in "
                        f"{[str(p) for p in paths]}"
                    )
                present[n, k] = not reader.is_missing(clip_id) and reader.steps(clip_id) > 0
    return present


def read_member_predictions(
    member_dirs: list[str | Path], ids: list[str], seed: int, splits: tuple[str, ...] = SPLITS
) -> tuple[np.ndarray, list[RunRecord]]:
    """(N, M, 6) predictions of every member run for ``ids`` (of ``splits``), and their
    records. Every member must be a run of ``seed`` and predict every clip.
    """
    preds = np.zeros((len(ids), len(member_dirs), len(EMOTIONS)), np.float32)
    members = []
    for j, run_dir in enumerate(member_dirs):
        metrics = read_record(run_dir)
        if metrics.seed != seed:
            raise ValueError(f"{run_dir}: member of seed {metrics.seed}, the run's is {seed}")
        frames = [read_predictions(predictions_path(run_dir, split)) for split in splits]
        values = {i: row for frame in frames for i, row in zip(frame.index, frame.to_numpy())}
        lacking = [i for i in ids if i not in values]
        if lacking:
            raise ValueError(
                f"{run_dir}: no prediction for {len(lacking)} clip(s), e.g. {lacking[:3]}"
            )
        preds[:, j] = np.stack([values[i] for i in ids])
        members.append(metrics)
    return preds, members


def _folds(valid_ids: list[str], settings: StackSettings, rng: np.random.Generator):
    """(fold clips, training clips, early-stopping clips) of each cross-fitting fold.

    A valid split of fewer than ``2 * folds`` clips gets ``len // 2`` folds (at least 2, a
    warning in the log); fewer than 4 clips cannot be cross-fitted (an error).
    """
    folds = min(settings.folds, len(valid_ids) // 2)
    if folds < 2:
        raise ConfigError(
            f"stack.fit_on valid: {len(valid_ids)} valid clips are too few to cross-fit "
            "(at least 4); use fit_on: train"
        )
    if folds < settings.folds:
        log.warning(
            "stack fit_on valid: %d valid clips, %d folds instead of %d",
            len(valid_ids),
            folds,
            settings.folds,
        )
    order = [valid_ids[k] for k in rng.permutation(len(valid_ids))]
    for fold in np.array_split(np.arange(len(order)), folds):
        held = {order[k] for k in fold}
        rest = [i for i in order if i not in held]
        n_stop = max(1, round(settings.holdout * len(rest)))
        yield sorted(held), rest[n_stop:], rest[:n_stop]


def stack_run(
    spec: StackSpec,
    member_dirs: list[str | Path],
    manifest_path: str | Path,
    stores: dict[str, list[str | Path]],
    out_dir: str | Path,
    device: torch.device,
    test_labels_path: str | Path | None = None,
) -> RunRecord:
    """Train the late-fusion regressor of ``spec`` on the members and write the run folder."""
    out_dir = Path(out_dir)
    letters = parse_modalities(spec.modalities)
    stores = _in_order(stores, letters)
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    ids = {split: split_ids(manifest, split) for split in SPLITS}
    every = [i for split in SPLITS for i in ids[split]]
    rows = {i: n for n, i in enumerate(every)}
    targets = np.full((len(every), len(EMOTIONS)), np.nan, np.float32)
    for split in SPLITS:
        values = split_labels(manifest, split, test_labels)
        if values is not None:
            targets[[rows[i] for i in ids[split]]] = values
    preds, members = read_member_predictions(member_dirs, every, spec.seed)
    present = read_presence(stores, every)
    data = StackData(rows, preds, present, targets, ids)
    if data.labels["valid"] is None or data.labels["train"] is None:
        raise ValueError("late fusion needs labelled train and valid splits")
    member_modalities = tuple(m.modalities for m in members)

    seeds = seed_everything(spec.seed, device)

    def regressor() -> LateFusionRegressor:
        s = spec.stack
        return LateFusionRegressor(
            member_modalities, spec.modalities, s.head, s.hidden, s.dropout, s.modality_dropout
        ).to(device)

    out = {split: np.zeros((len(ids[split]), len(EMOTIONS))) for split in SPLITS}
    valid_row = {i: n for n, i in enumerate(ids["valid"])}
    log_rows, states, best_epochs = [], [], []
    fit_seconds = predict_seconds = 0.0
    if spec.stack.fit_on == "train":
        plan = [(None, ids["train"], ids["valid"])]
    else:
        plan = list(_folds(ids["valid"], spec.stack, np.random.default_rng(spec.seed)))
    for k, (held, learn, stop) in enumerate(plan):
        torch.manual_seed(int(np.random.SeedSequence([spec.seed, k]).generate_state(1)[0]))
        model = regressor()
        result = fit(
            model, data.subset({"train": learn, "valid": stop}), spec.train, spec.seed + k, device
        )
        model.load_state_dict(result.state)
        fit_seconds += result.seconds
        states.append({n: v.cpu() for n, v in result.state.items()})
        best_epochs.append(result.best_epoch)
        log_rows += [{"fold": k, **row} for row in result.log_rows]
        start = time.perf_counter()
        for split in SPLITS:
            if split == "valid" and held is not None:
                fold_pred, _ = predict(model, data.subset({"fold": held}), "fold", 4096, device)
                out["valid"][[valid_row[i] for i in held]] = fold_pred
            else:
                split_pred, _ = predict(model, data, split, 4096, device)
                out[split] += split_pred / len(plan)
        predict_seconds += time.perf_counter() - start
        log.info(
            "fold %d of %d: %d clips learnt, %d for early stopping, best epoch %d",
            k + 1,
            len(plan),
            len(learn),
            len(stop),
            result.best_epoch,
        )

    splits = _write_splits(ids, out, present, rows, data.labels, letters, out_dir)
    write_table(pd.DataFrame(log_rows, columns=["fold", *LOG_COLUMNS]), out_dir / "train_log.tsv")
    names = [f"{m.system}/{m.variant}/seed{m.seed}" for m in members]
    torch.save(
        {
            "kind": "late_fusion",
            "system": spec.system,
            "variant": spec.variant,
            "seed": spec.seed,
            "members": names,
            "member_modalities": list(member_modalities),
            "modalities": spec.modalities,
            "stack": dataclasses.asdict(spec.stack),
            "state_dicts": states,
        },
        out_dir / "model.pt",
    )
    record = RunRecord(
        **spec.names,
        kind="stack",
        splits=splits,
        best_epoch=round(float(np.mean(best_epochs))),
        epochs_run=int(max(row["epoch"] for row in log_rows)),
        n_params=sum(p.numel() for p in regressor().parameters()),
        device=describe_device(device),
        members=[str(d) for d in member_dirs],
        config={
            "stack": dataclasses.asdict(spec.stack),
            "train": dataclasses.asdict(spec.train),
            "members": names,
            "seeds": seeds,
            "n_clips": {s: len(v) for s, v in ids.items()},
            "n_folds": len(plan),
            "best_epochs": best_epochs,
        },
    )
    write_record(record, out_dir)
    write_timing(out_dir, fit_seconds, predict_seconds, len(every))
    log.info(
        "done: %s/%s seed %d, late fusion of %d runs, valid mean Pearson %.4f, %.1f s",
        spec.system,
        spec.variant,
        spec.seed,
        len(member_dirs),
        splits["valid"].mean_pearson,
        fit_seconds + predict_seconds,
    )
    return record


def _write_splits(
    ids: dict[str, list[str]],
    preds: dict[str, np.ndarray],
    present: np.ndarray,
    rows: dict[str, int],
    labels: dict[str, np.ndarray | None],
    letters: tuple[str, ...],
    out_dir: str | Path,
) -> dict[str, SplitScores]:
    """Write each split's predictions (raw, unclipped); score the labelled valid and test splits
    with the clips lacking each modality (``present`` rows follow ``rows``)."""
    scores = {}
    for split, clips in ids.items():
        values = preds[split]
        write_predictions(clips, values, predictions_path(out_dir, split))
        if split != "train" and labels.get(split) is not None:
            where = [rows[i] for i in clips]
            n_missing = {m: int((~present[where, k]).sum()) for k, m in enumerate(letters)}
            scores[split] = split_scores(labels[split], values, n_missing)
    return scores


def stack_predict(
    run_dir: str | Path,
    member_dirs: list[str | Path],
    manifest_path: str | Path,
    stores: dict[str, list[str | Path]],
    splits: tuple[str, ...],
    out_dir: str | Path,
    device: torch.device,
    test_labels_path: str | Path | None = None,
) -> dict[str, SplitScores]:
    """A trained late-fusion run (``run_dir``) predicting ``splits`` from other member
    predictions and stores (a robustness condition's), as it predicted them in training: a valid
    clip by the fold regressor that never saw it (``fit_on: valid``), any other clip by the mean
    of the fold regressors. Writes the predictions into ``out_dir``; returns the scores of the
    labelled valid and test splits."""
    saved = load_plain(Path(run_dir) / "model.pt")
    if not isinstance(saved, dict) or saved.get("kind") != "late_fusion":
        raise ValueError(f"{run_dir}/model.pt is not a late-fusion run")
    stack = settings_from(StackSettings, saved["stack"], f"{run_dir}/model.pt stack")
    seed = int(saved["seed"])
    letters = parse_modalities(saved["modalities"])
    stores = _in_order(stores, letters)
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    ids = {split: split_ids(manifest, split) for split in splits}
    every = [i for split in splits for i in ids[split]]
    rows = {i: n for n, i in enumerate(every)}
    preds, _ = read_member_predictions(member_dirs, every, seed, splits)
    present = read_presence(stores, every)
    targets = np.full((len(every), len(EMOTIONS)), np.nan, np.float32)
    data = StackData(rows, preds, present, targets, ids)
    models = []
    for state in saved["state_dicts"]:
        model = LateFusionRegressor(
            tuple(saved["member_modalities"]),
            saved["modalities"],
            stack.head,
            stack.hidden,
            stack.dropout,
            stack.modality_dropout,
        )
        model.load_state_dict(state)
        models.append(model.to(device).eval())
    out = {}
    for split in splits:
        if split == "valid" and stack.fit_on == "valid":
            folds = _folds(ids["valid"], stack, np.random.default_rng(seed))
            row = {i: n for n, i in enumerate(ids["valid"])}
            out[split] = np.zeros((len(ids[split]), len(EMOTIONS)))
            for model, (held, _, _) in zip(models, folds):
                fold_pred, _ = predict(model, data.subset({"fold": held}), "fold", 4096, device)
                out[split][[row[i] for i in held]] = fold_pred
        else:
            out[split] = sum(predict(m, data, split, 4096, device)[0] for m in models) / len(models)
    labels = {s: split_labels(manifest, s, test_labels) for s in splits}
    return _write_splits(ids, out, present, rows, labels, letters, out_dir)

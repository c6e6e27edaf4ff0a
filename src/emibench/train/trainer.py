"""One trainer for every Stage II system: a configured loss (MSE by default), Adam(W), EMA, early
stopping on valid mean Pearson, predictions from the best epoch's weights or the last's.

A run = (system, variant, seed) with a resolved config::

    {"features": "stage1", "modalities": "VAT",
     "model": {"name": "dscmn", ...}, "train": {"epochs": 30, ...}}

A model that holds encoders of its own (``model.encoders``: TAEMI end to end) trains them with
the rest at ``encoder_lr`` (0 freezes them), on raw waves and token ids.

It writes the run folder of docs/architecture.md: metrics.json, timing.json, predictions_{split}.csv
for every clip of every split, train_log.tsv, model.pt, and fusion_weights_{valid,test}.csv for
models that expose fusion weights (DSCMN).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from emibench.asr.settings import DEFAULT_SET
from emibench.devices import autocast, describe_device
from emibench.evaluate.metrics import mean_pearson
from emibench.evaluate.record import NAMES, RunRecord, SplitScores, split_scores, write_record
from emibench.evaluate.run_files import (
    predictions_path,
    write_fusion_weights,
    write_predictions,
    write_timing,
    write_train_log,
)
from emibench.features.sets import FEATURE_SETS
from emibench.logs import run_log
from emibench.models.inputs import RawInputs, input_keys, parse_modalities
from emibench.models.registry import build_model, raw_inputs, raw_modalities
from emibench.settings import ConfigError, settings_from
from emibench.train.data import AUDIO_RATES, SPLITS, RunData, load_run_data
from emibench.train.ema import EMA
from emibench.train.losses import LOSSES, make_loss
from emibench.train.seed import seed_everything

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("none", "cosine")
PRECISIONS = ("fp32", "auto", "bf16")
SELECT = ("best", "last")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (config ``train.defaults``, overridable per system and variant)."""

    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "none"
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    patience: int = 5
    ema_decay: float = 0.999
    ema_warmup: bool = True
    max_steps: int = 0
    standardize: bool = True
    bucket: bool = True
    eval_batch_size: int = 64
    audio_rate: str = "visual"
    loss: str = "mse"
    loss_weight: float = 1.0
    encoder_lr: float = 0.0
    warmup_epochs: float = 0.0
    precision: str = "fp32"
    gradient_checkpointing: bool = False
    max_train_batches: int = 0
    select: str = "best"

    def __post_init__(self) -> None:
        if self.select not in SELECT:
            raise ConfigError(f"select must be one of {SELECT}, got {self.select!r}")
        if self.audio_rate not in AUDIO_RATES:
            raise ConfigError(f"audio_rate must be one of {AUDIO_RATES}, got {self.audio_rate!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.encoder_lr < 0 or self.warmup_epochs < 0 or self.max_train_batches < 0:
            raise ConfigError("encoder_lr, warmup_epochs and max_train_batches must be >= 0")
        if self.optimizer not in OPTIMIZERS or self.scheduler not in SCHEDULERS:
            raise ConfigError(
                f"optimizer in {OPTIMIZERS}, scheduler in {SCHEDULERS}; got {self.optimizer}, {self.scheduler}"
            )
        if self.loss not in LOSSES:
            raise ConfigError(f"loss {self.loss!r}: expected one of {LOSSES}")
        if self.loss_weight < 0:
            raise ConfigError(f"loss_weight {self.loss_weight}: must be >= 0")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ConfigError("epochs, batch_size and patience must be >= 1")


@dataclass
class RunSpec:
    """What a run is: names, seed, features, modalities, model and training config, and the
    transcript set whose raw text a model that encodes text itself reads."""

    system: str
    variant: str
    seed: int
    features: str
    modalities: str
    model: dict
    train: TrainConfig = field(default_factory=TrainConfig)
    transcripts: str = DEFAULT_SET

    @property
    def names(self) -> dict[str, object]:
        """The names a run record starts with."""
        return {k: getattr(self, k) for k in NAMES}

    @classmethod
    def from_config(cls, system: str, variant: str, seed: int, config: dict) -> RunSpec:
        """From the resolved run config ``{features, modalities, model, train[, transcripts]}``."""
        train = check_run_config(system, variant, config, "model")
        return cls(
            system,
            variant,
            int(seed),
            config["features"],
            config["modalities"],
            dict(config["model"]),
            train,
            config.get("transcripts", DEFAULT_SET),
        )


def check_run_config(system: str, variant: str, config: dict, own: str) -> TrainConfig:
    """Check a resolved run config ``{features, modalities, <own>, train}`` (``own``: ``model``
    of a trained system, ``stack`` of a late-fusion one); returns its training settings. Errors
    name the system, variant and key."""
    where = f"run config of {system}/{variant}"
    unknown = sorted(set(config) - {"features", "modalities", own, "train", "transcripts"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}")
    for key in ("features", "modalities", own):
        if key not in config:
            raise ConfigError(f"{where}: missing key {key!r}")
    if config["features"] not in FEATURE_SETS:
        raise ConfigError(f"{where}: features {config['features']!r} not in {FEATURE_SETS}")
    parse_modalities(config["modalities"])
    transcripts = config.get("transcripts", DEFAULT_SET)
    if transcripts != DEFAULT_SET and (
        own != "model" or "T" not in raw_modalities(config["model"], config["modalities"])
    ):
        raise ConfigError(
            f"{where}: transcripts {transcripts!r} applies only to a model that encodes the text "
            "itself (e.g. taemi with a text_encoder); the others read text features"
        )
    return settings_from(TrainConfig, config.get("train", {}), f"{where}: train")


@dataclass
class FitResult:
    """``state``: the (EMA) weights that predict: the best epoch's (``select: best``) or the last
    epoch's (``select: last``), ``predicted_epoch`` says which."""

    state: dict[str, torch.Tensor]
    log_rows: list[dict]
    best_epoch: int
    best_score: float
    epochs_run: int
    seconds: float
    predicted_epoch: int = 0


@torch.no_grad()
def predict(
    model: nn.Module,
    data: RunData,
    split: str,
    batch_size: int,
    device: torch.device,
    precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw predictions (N, 6) for every clip of ``split`` in ``data.ids[split]`` order, and the
    model's fusion weights (N, 3) where it exposes them. ``precision``: autocast as in training
    (bf16 on CUDA for ``auto``/``bf16``)."""
    model.eval()
    order = {i: n for n, i in enumerate(data.ids[split])}
    preds = np.zeros((len(order), 6))
    weights = None
    for batch in data.batches(split, batch_size):
        with autocast(device, precision):
            out = model(batch.to(device))
        rows = [order[i] for i in batch.ids]
        pred = out["pred"].float().cpu().numpy()
        if not np.isfinite(pred).all():
            bad = [i for i, row in zip(batch.ids, pred) if not np.isfinite(row).all()]
            raise FloatingPointError(
                f"non-finite predictions on {split} for {len(bad)} clip(s), first {bad[:5]}"
            )
        preds[rows] = pred
        if "fusion_weights" in out:
            if weights is None:
                weights = np.zeros((len(order), 3))
            weights[rows] = out["fusion_weights"].float().cpu().numpy()
    return preds, weights


def predict_splits(
    model: nn.Module,
    data: RunData,
    splits: tuple[str, ...] | list[str],
    out_dir: str | Path,
    cfg: TrainConfig,
    device: torch.device,
) -> dict[str, SplitScores]:
    """Predict every clip of ``splits`` as the run was trained to (its eval batch size and
    precision) and write ``predictions_{split}.csv`` and, beyond train, ``fusion_weights_{split}
    .csv`` (no rows for a model without fusion weights). Returns the scores of the labelled
    valid and test splits."""
    out_dir = Path(out_dir)
    scores = {}
    for split in splits:
        preds, weights = predict(model, data, split, cfg.eval_batch_size, device, cfg.precision)
        write_predictions(data.ids[split], preds, predictions_path(out_dir, split))
        if split == "train":
            continue
        ids = data.ids[split] if weights is not None else []
        write_fusion_weights(ids, weights, out_dir / f"fusion_weights_{split}.csv")
        if data.labels[split] is not None:
            scores[split] = split_scores(data.labels[split], preds, data.n_missing(split))
    return scores


def model_encoders(model: nn.Module) -> nn.ModuleDict | None:
    """The encoders a model holds and may train end to end (``model.encoders``), if any."""
    encoders = getattr(model, "encoders", None)
    return encoders if isinstance(encoders, nn.ModuleDict) and len(encoders) else None


def freeze_encoders(model: nn.Module, cfg: TrainConfig) -> list[nn.Module]:
    """With ``encoder_lr`` 0, stop gradients into the model's encoders; returns the frozen ones
    (kept in eval mode while the rest trains)."""
    encoders = model_encoders(model)
    if encoders is None or cfg.encoder_lr > 0:
        return []
    encoders.requires_grad_(False)
    return list(encoders.values())


def enable_gradient_checkpointing(model: nn.Module) -> int:
    """Gradient checkpointing in every transformers encoder inside ``model``; returns how many."""
    done = 0
    for module in model.modules():
        if not getattr(module, "supports_gradient_checkpointing", False):
            continue
        # transformers 5 renamed the switch; 4.x has only the old name
        enable = getattr(module, "activation_checkpointing_enable", None) or getattr(
            module, "gradient_checkpointing_enable", None
        )
        if enable is not None:
            enable()
            done += 1
    return done


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam(W) with the model's encoders (if any, and trained) in their own group at ``encoder_lr``;
    the multi-tensor update on every device (CUDA's default; on the CPU torch would otherwise
    update tensor by tensor in Python)."""
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    encoders = model_encoders(model)
    groups: list[dict] = [{"params": list(model.parameters())}]
    if encoders is not None:
        inside = {id(p) for p in encoders.parameters()}
        groups = [{"params": [p for p in model.parameters() if id(p) not in inside]}]
        if cfg.encoder_lr > 0:
            groups.append({"params": list(encoders.parameters()), "lr": cfg.encoder_lr})
    return kind(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


def lr_factor(step: int, total: int, warmup: int, scheduler: str, min_ratio: float) -> float:
    """Share of each group's lr after ``step`` optimizer steps: a linear warm-up over ``warmup``
    steps (from 1/warmup), then constant (``none``) or a cosine decay to ``min_ratio`` at
    ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    if scheduler == "none":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    warmup = round(cfg.warmup_epochs * steps_per_epoch)
    if cfg.scheduler == "none" and warmup == 0:
        return None
    total = cfg.epochs * steps_per_epoch
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: lr_factor(step, total, warmup, cfg.scheduler, cfg.min_lr_ratio)
    )


def train_step(
    model: nn.Module,
    batch,
    opt: torch.optim.Optimizer,
    loss_fn,
    cfg: TrainConfig,
    device: torch.device,
) -> torch.Tensor:
    """One optimizer step on ``batch`` (already on ``device``): forward under the run's
    precision, the configured loss in fp32, backward, gradient clipping, the step. Returns the
    loss (detached); a non-finite loss is an error."""
    with autocast(device, cfg.precision):
        pred = model(batch)["pred"]
    loss = loss_fn(pred.float(), batch.labels)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"training diverged: loss {loss.item()} (lower train.lr?)")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return loss.detach()


def fit(
    model: nn.Module, data: RunData, cfg: TrainConfig, seed: int, device: torch.device
) -> FitResult:
    """Train ``model`` on the train split until ``epochs`` or early stopping (``patience`` epochs
    without a better valid mean Pearson); keep the (EMA) weights of the best epoch, or with
    ``select: last`` those of the last epoch run."""
    if not data.ids["valid"] or data.labels["valid"] is None:
        raise ValueError("training needs a labelled valid split for early stopping")
    rng = np.random.default_rng(seed)
    frozen = freeze_encoders(model, cfg)
    opt = _optimizer(model, cfg)
    batches_per_epoch = math.ceil(len(data.ids["train"]) / cfg.batch_size)
    steps_per_epoch = batches_per_epoch
    if cfg.max_train_batches:
        steps_per_epoch = min(steps_per_epoch, cfg.max_train_batches)
    sched = _scheduler(opt, cfg, steps_per_epoch)
    ema = EMA(model, cfg.ema_decay, cfg.ema_warmup) if cfg.ema_decay > 0 else None
    loss_fn = make_loss(cfg.loss, cfg.loss_weight)
    valid_labels = data.labels["valid"]
    rows: list[dict] = []
    best = FitResult({}, rows, 0, -math.inf, 0, 0.0)
    start = time.perf_counter()
    for epoch in tqdm(range(1, cfg.epochs + 1), desc="epochs", leave=False):
        t0 = time.perf_counter()
        model.train()
        for module in frozen:
            module.eval()
        total, count, largest = 0.0, 0, 0
        for k, batch in enumerate(data.batches("train", cfg.batch_size, rng, cfg.bucket)):
            if k == steps_per_epoch:
                break
            largest = max(largest, len(batch))
            batch = batch.to(device)
            try:
                loss = train_step(model, batch, opt, loss_fn, cfg, device)
            except FloatingPointError as err:
                raise FloatingPointError(f"epoch {epoch}: {err}") from None
            if sched is not None:
                sched.step()
            if ema is not None:
                ema.update(model)
            total += loss.item() * len(batch)
            count += len(batch)
        if epoch == 1:
            capped = steps_per_epoch < batches_per_epoch
            log.info(
                "train: %d clips in batches of up to %d, %d batch%s an epoch%s",
                len(data.ids["train"]),
                largest,
                steps_per_epoch,
                "" if steps_per_epoch == 1 else "es",
                f" (max_train_batches: {steps_per_epoch} of {batches_per_epoch})" if capped else "",
            )
        evaluated = ema.module if ema is not None else model
        preds, _ = predict(evaluated, data, "valid", cfg.eval_batch_size, device, cfg.precision)
        score = mean_pearson(valid_labels, preds)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": total / max(count, 1),
                "valid_mean_pearson": score,
                "lr": opt.param_groups[0]["lr"],
                "seconds": time.perf_counter() - t0,
            }
        )
        log.debug(
            "epoch %d: train loss %.5f, valid mean Pearson %.4f",
            epoch,
            rows[-1]["train_loss"],
            score,
        )
        if score > best.best_score:
            best.state = copy.deepcopy(evaluated.state_dict())
            best.best_score, best.best_epoch = score, epoch
        elif epoch - best.best_epoch >= cfg.patience:
            break
    best.epochs_run = len(rows)
    best.predicted_epoch = best.best_epoch
    if cfg.select == "last":
        best.state = copy.deepcopy(evaluated.state_dict())
        best.predicted_epoch = best.epochs_run
    best.seconds = time.perf_counter() - start
    return best


def data_options(cfg: TrainConfig, raw: RawInputs | None) -> dict:
    """The keyword arguments of ``load_run_data`` beyond paths that a run's data is read with
    (saved in model.pt as ``data``, so a saved run rebuilds its inputs the same way)."""
    return {
        "max_steps": cfg.max_steps,
        "standardize": cfg.standardize,
        "audio_rate": cfg.audio_rate,
        "raw_inputs": None if raw is None else dataclasses.asdict(raw),
    }


def train_run(spec: RunSpec, data: RunData, out_dir: str | Path, device: torch.device) -> RunRecord:
    """Seed, build, train, predict every split, and write the run folder. Returns its record."""
    out_dir = Path(out_dir)
    seeds = seed_everything(spec.seed, device)
    model = build_model(spec.model, data.dims, spec.modalities).to(device)
    if spec.train.gradient_checkpointing:
        log.info("gradient checkpointing in %d encoder(s)", enable_gradient_checkpointing(model))
    n_params = sum(p.numel() for p in model.parameters())
    encoders = model_encoders(model)
    n_encoder = 0 if encoders is None else sum(p.numel() for p in encoders.parameters())
    held = ""
    if n_encoder:
        trained = "frozen" if spec.train.encoder_lr == 0 else f"lr {spec.train.encoder_lr:g}"
        held = f" ({n_encoder} in its encoders, {trained})"
    log.info(
        "%s/%s seed %d: %s with %d parameters%s on %s",
        spec.system,
        spec.variant,
        spec.seed,
        spec.model["name"],
        n_params,
        held,
        device,
    )
    result = fit(model, data, spec.train, spec.seed, device)
    model.load_state_dict(result.state)
    start = time.perf_counter()
    splits = predict_splits(model, data, SPLITS, out_dir, spec.train, device)
    predict_seconds = time.perf_counter() - start
    write_train_log(result.log_rows, out_dir / "train_log.tsv")
    torch.save(
        {
            "system": spec.system,
            "variant": spec.variant,
            "seed": spec.seed,
            "features": spec.features,
            "modalities": spec.modalities,
            "model_config": spec.model,
            "dims": data.dims,
            "standardize": {m: f.state() for m, f in data.features.items()}
            if spec.train.standardize
            else None,
            "data": data_options(spec.train, data.raw_inputs),
            "state_dict": {k: v.cpu() for k, v in result.state.items()},
            "best_epoch": result.best_epoch,
            "predicted_epoch": result.predicted_epoch,
        },
        out_dir / "model.pt",
    )
    record = RunRecord(
        **spec.names,
        kind="model",
        splits=splits,
        best_epoch=result.best_epoch,
        predicted_epoch=result.predicted_epoch,
        epochs_run=result.epochs_run,
        n_params=n_params,
        n_encoder_params=n_encoder,
        device=describe_device(device),
        config={
            "model": spec.model,
            "train": dataclasses.asdict(spec.train),
            "transcripts": spec.transcripts,
            "dims": data.dims,
            "seeds": seeds,
            "n_clips": {s: len(ids) for s, ids in data.ids.items()},
            "n_all_missing": {s: len(data.all_missing(s)) for s in data.ids},
        },
    )
    write_record(record, out_dir)
    n_predicted = sum(len(data.ids[split]) for split in SPLITS)
    write_timing(out_dir, result.seconds, predict_seconds, n_predicted)
    log.info(
        "done: %s/%s seed %d, valid mean Pearson %.4f%s, best epoch %d of %d, %.1f s",
        spec.system,
        spec.variant,
        spec.seed,
        splits["valid"].mean_pearson,
        f", test {splits['test'].mean_pearson:.4f}" if "test" in splits else "",
        result.best_epoch,
        result.epochs_run,
        result.seconds,
    )
    return record


def train_runs(
    runs: list,
    manifest: str | Path,
    test_labels: str | Path | None,
    device: torch.device,
) -> list[RunRecord]:
    """Train the runs of one (system, variant) job (``emibench.plan.jobs.RunJob``, one per seed)
    in one process.

    Each run's ``stores`` map its store keys (``emibench.modalities``: V, A, T feature stores;
    ``wave``, ``text`` raw inputs of a model that encodes them itself) to files or store
    folders; runs reading the same stores with the same data options share one load, which is
    freed after the last run that reads it (a job holds one seed's stores at a time where each
    seed reads its own Stage I set). Each run folder gets its own ``log.txt`` (this process's log
    while that run trains). Returns each run's record.
    """
    specs, keys = [], []
    for run in runs:
        spec = RunSpec.from_config(run.system, run.variant, run.seed, run.config)
        used = input_keys(spec.modalities, raw_modalities(spec.model, spec.modalities))
        if sorted(run.stores) != sorted(used):
            raise ConfigError(
                f"{spec.system}/{spec.variant} seed {spec.seed} reads the stores "
                f"{' '.join(used)} (modalities {spec.modalities}); stores were given for "
                f"{' '.join(sorted(run.stores))}"
            )
        options = data_options(spec.train, raw_inputs(spec.model, spec.modalities))
        specs.append(spec)
        keys.append((tuple((m, tuple(run.stores[m])) for m in used), repr(sorted(options.items()))))
    last_use = {key: k for k, key in enumerate(keys)}
    loaded: dict[tuple, RunData] = {}
    results = []
    for k, (run, spec, key) in enumerate(zip(runs, specs, keys)):
        used = [m for m, _ in key[0]]
        out_dir = Path(run.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with run_log(out_dir / "log.txt"):
            if key not in loaded:
                start = time.perf_counter()
                raw = raw_inputs(spec.model, spec.modalities)
                loaded[key] = load_run_data(
                    manifest,
                    {m: run.stores[m] for m in used},
                    test_labels,
                    spec.train.max_steps,
                    spec.train.standardize,
                    spec.train.audio_rate,
                    raw,
                )
                log.info("loaded the inputs in %.1f s", time.perf_counter() - start)
            results.append(train_run(spec, loaded[key], out_dir, device))
        if last_use[key] == k:
            del loaded[key]
    return results

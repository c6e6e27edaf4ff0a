"""One trainer for every Stage II system: a configured loss (MSE by default), Adam(W), EMA, early
stopping on valid mean Pearson.

A run = (system, variant, seed) with a resolved config::

    {"features": "stage1", "modalities": "VAT",
     "model": {"name": "dscmn", ...}, "train": {"epochs": 30, ...}}

It writes the run folder of docs/architecture.md: metrics.json, predictions_{split}.csv for every
clip of every split, train_log.tsv, model.pt, and fusion_weights_{valid,test}.csv for models that
expose fusion weights (DSCMN).
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

from emibench.evaluate.metrics import mean_pearson
from emibench.evaluate.run_files import (
    clip01,
    predictions_path,
    split_scores,
    write_fusion_weights,
    write_metrics,
    write_predictions,
    write_train_log,
)
from emibench.features.sets import FEATURE_SETS
from emibench.logs import run_log
from emibench.models.inputs import parse_modalities
from emibench.models.registry import build_model
from emibench.settings import ConfigError, settings_from
from emibench.train.data import AUDIO_RATES, RunData, load_run_data
from emibench.train.ema import EMA
from emibench.train.losses import LOSSES, make_loss
from emibench.train.seed import seed_everything

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("none", "cosine")


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

    def __post_init__(self) -> None:
        if self.audio_rate not in AUDIO_RATES:
            raise ConfigError(f"audio_rate must be one of {AUDIO_RATES}, got {self.audio_rate!r}")
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
    """What a run is: names, seed, features, modalities, model and training config."""

    system: str
    variant: str
    seed: int
    features: str
    modalities: str
    model: dict
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_config(cls, system: str, variant: str, seed: int, config: dict) -> RunSpec:
        """From the resolved run config ``{features, modalities, model, train}``."""
        where = f"run config of {system}/{variant}"
        unknown = sorted(set(config) - {"features", "modalities", "model", "train"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}")
        for key in ("features", "modalities", "model"):
            if key not in config:
                raise ConfigError(f"{where}: missing key {key!r}")
        if config["features"] not in FEATURE_SETS:
            raise ConfigError(f"{where}: features {config['features']!r} not in {FEATURE_SETS}")
        parse_modalities(config["modalities"])
        return cls(
            system,
            variant,
            int(seed),
            config["features"],
            config["modalities"],
            dict(config["model"]),
            settings_from(TrainConfig, config.get("train", {}), f"{where}: train"),
        )


@dataclass
class FitResult:
    state: dict[str, torch.Tensor]
    log_rows: list[dict]
    best_epoch: int
    best_score: float
    epochs_run: int
    seconds: float


@torch.no_grad()
def predict(
    model: nn.Module, data: RunData, split: str, batch_size: int, device: torch.device
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw predictions (N, 6) for every clip of ``split`` in ``data.ids[split]`` order, and the
    model's fusion weights (N, 3) where it exposes them."""
    model.eval()
    order = {i: n for n, i in enumerate(data.ids[split])}
    preds = np.zeros((len(order), 6))
    weights = None
    for batch in data.batches(split, batch_size):
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


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return kind(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.scheduler == "none":
        return None
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(total_steps, 1), eta_min=cfg.lr * cfg.min_lr_ratio
    )


def fit(
    model: nn.Module, data: RunData, cfg: TrainConfig, seed: int, device: torch.device
) -> FitResult:
    """Train ``model`` on the train split; keep the (EMA) weights of the best valid mean Pearson."""
    if not data.ids["valid"] or data.labels["valid"] is None:
        raise ValueError("training needs a labelled valid split for early stopping")
    rng = np.random.default_rng(seed)
    opt = _optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(data.ids["train"]) / cfg.batch_size)
    sched = _scheduler(opt, cfg, cfg.epochs * steps_per_epoch)
    ema = EMA(model, cfg.ema_decay, cfg.ema_warmup) if cfg.ema_decay > 0 else None
    loss_fn = make_loss(cfg.loss, cfg.loss_weight)
    valid_labels = data.labels["valid"]
    rows: list[dict] = []
    best = FitResult({}, rows, 0, -math.inf, 0, 0.0)
    start = time.perf_counter()
    for epoch in tqdm(range(1, cfg.epochs + 1), desc="epochs", leave=False):
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch in data.batches("train", cfg.batch_size, rng, cfg.bucket):
            batch = batch.to(device)
            loss = loss_fn(model(batch)["pred"], batch.labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch}: loss {loss.item()} (lower train.lr?)"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if sched is not None:
                sched.step()
            if ema is not None:
                ema.update(model)
            total += loss.item() * len(batch)
            count += len(batch)
        evaluated = ema.module if ema is not None else model
        preds, _ = predict(evaluated, data, "valid", cfg.eval_batch_size, device)
        score = mean_pearson(valid_labels, clip01(preds))
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
    best.seconds = time.perf_counter() - start
    return best


def train_run(spec: RunSpec, data: RunData, out_dir: str | Path, device: torch.device) -> dict:
    """Seed, build, train, predict every split, and write the run folder. Returns metrics.json."""
    out_dir = Path(out_dir)
    seeds = seed_everything(spec.seed, device)
    model = build_model(spec.model, data.dims, spec.modalities).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        "%s/%s seed %d: %s with %d parameters on %s",
        spec.system,
        spec.variant,
        spec.seed,
        spec.model["name"],
        n_params,
        device,
    )
    result = fit(model, data, spec.train, spec.seed, device)
    model.load_state_dict(result.state)
    splits: dict[str, dict] = {}
    for split in ("train", "valid", "test"):
        preds, weights = predict(model, data, split, spec.train.eval_batch_size, device)
        preds = clip01(preds)
        write_predictions(data.ids[split], preds, predictions_path(out_dir, split))
        if weights is not None and split != "train":
            write_fusion_weights(data.ids[split], weights, out_dir / f"fusion_weights_{split}.csv")
        if split != "train" and data.labels[split] is not None:
            splits[split] = split_scores(data.labels[split], preds) | {
                "n_missing": data.n_missing(split)
            }
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
            "state_dict": {k: v.cpu() for k, v in result.state.items()},
            "best_epoch": result.best_epoch,
        },
        out_dir / "model.pt",
    )
    metrics = {
        "system": spec.system,
        "variant": spec.variant,
        "seed": spec.seed,
        "features": spec.features,
        "modalities": spec.modalities,
        "splits": splits,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 3),
        "n_params": n_params,
        "device": str(device),
        "config": {
            "model": spec.model,
            "train": dataclasses.asdict(spec.train),
            "dims": data.dims,
            "seeds": seeds,
            "n_clips": {s: len(ids) for s, ids in data.ids.items()},
            "n_all_missing": {s: len(data.all_missing(s)) for s in data.ids},
        },
    }
    write_metrics(metrics, out_dir)
    return metrics


def train_runs(
    specs: list[RunSpec],
    out_dirs: list[str | Path],
    stores: dict[int, dict[str, list[str]]],
    manifest: str | Path,
    test_labels: str | Path | None,
    device: torch.device,
) -> list[dict]:
    """Train the runs ``specs`` (one per seed) of one (system, variant) in one process.

    ``stores`` maps each run's seed to its {modality: shard paths}; runs reading the same stores
    share one load. Each run folder gets its own ``log.txt`` (this process's log while that run
    trains). Returns each run's metrics.json.
    """
    loaded: dict[tuple, RunData] = {}
    results = []
    for spec, out_dir in zip(specs, out_dirs):
        given = stores[spec.seed]
        used = parse_modalities(spec.modalities)
        if sorted(given) != sorted(used):
            raise ConfigError(
                f"{spec.system}/{spec.variant} seed {spec.seed} uses modalities {spec.modalities}; "
                f"stores were given for {''.join(sorted(given))}"
            )
        key = tuple((m, tuple(given[m])) for m in used)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with run_log(out_dir / "log.txt"):
            if key not in loaded:
                start = time.perf_counter()
                loaded[key] = load_run_data(
                    manifest,
                    {m: given[m] for m in used},
                    test_labels,
                    spec.train.max_steps,
                    spec.train.standardize,
                    spec.train.audio_rate,
                )
                log.info("loaded features in %.1f s", time.perf_counter() - start)
            metrics = train_run(spec, loaded[key], out_dir, device)
        valid = metrics["splits"]["valid"]["mean_pearson"]
        test = metrics["splits"].get("test", {}).get("mean_pearson")
        log.info(
            "done: %s/%s seed %d, valid mean Pearson %.4f%s, best epoch %d of %d, %.1f s",
            spec.system,
            spec.variant,
            spec.seed,
            valid,
            "" if test is None else f", test {test:.4f}",
            metrics["best_epoch"],
            metrics["epochs_run"],
            metrics["train_seconds"],
        )
        results.append(metrics)
    return results

"""Stage I training of one pair (vision-text or audio-text): symmetric InfoNCE, SGDR, per-epoch log.

Each epoch shuffles the train clips into batches of ``batch_size`` pairs (a last batch of one
clip is dropped: InfoNCE needs negatives), sets the SGDR learning rate every iteration, and then
evaluates on valid (and on test when given): the InfoNCE loss over batches in a fixed order, and
media->text retrieval recall@1 and @5 over the whole split (see ``stage1.retrieval``). The model
kept is, with ``select: best_cycle``, the snapshot with the best valid recall@5, then recall@1,
among the SGDR cycle ends (where the learning rate reaches ``lr_min``) and the last epoch; with
``select: last``, the last epoch's. Test never takes part in the choice.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emibench.encoding.settings import ExtractSettings
from emibench.settings import ConfigError
from emibench.stage1.checkpoint import freeze_except_tail, trainable_state
from emibench.stage1.data import MediaSegments, PairClips, TextCLS
from emibench.stage1.model import ContrastivePair
from emibench.stage1.retrieval import chance_recall_at_k, recall_at_k, text_groups
from emibench.stage1.schedule import SGDR

log = logging.getLogger(__name__)

LOG_COLUMNS = [
    "epoch",
    "lr",
    "encoder_lr",
    "train_loss",
    "valid_loss",
    "valid_recall_at_1",
    "valid_recall_at_5",
    "n_train",
    "n_left_out",
    "valid_chance_at_1",
    "valid_chance_at_5",
    "test_loss",
    "test_recall_at_1",
    "test_recall_at_5",
    "test_chance_at_1",
    "test_chance_at_5",
    "selected",
    "temperature",
    "seconds",
]
SELECT = ("best_cycle", "last")


@dataclass
class Stage1Settings:
    """Config section ``stage1`` (see config/schema/stage1.schema.yaml)."""

    epochs: int = 50
    batch_size: int = 32
    lr_max: float = 1e-5
    lr_min: float = 1e-7
    head_lr: float = 1e-3
    cycle_epochs: int = 10
    cycle_mult: float = 1.0
    weight_decay: float = 0.01
    proj_dim: int = 256
    proj_hidden: int = 0
    init_temperature: float = 0.07
    max_logit_scale: float = 100.0
    segments: int = 8
    train_layers: int = 0
    seed: int = 0
    text_pair: str = "vision_text"
    standardize: bool = True
    select: str = "best_cycle"

    def __post_init__(self) -> None:
        if self.select not in SELECT:
            raise ConfigError(f"stage1.select must be one of {SELECT}, got {self.select!r}")

    def head(self) -> dict[str, Any]:
        return {
            "proj_dim": self.proj_dim,
            "proj_hidden": self.proj_hidden,
            "init_temperature": self.init_temperature,
            "max_logit_scale": self.max_logit_scale,
        }


@dataclass
class PairSide:
    """One split's inputs of a pair: the clips, their media segment means and text CLS."""

    clips: PairClips
    media: MediaSegments
    text: TextCLS


def build_side(
    clips: PairClips,
    media_encoder,
    text_encoder,
    media_reader,
    modality: str,
    settings: Stage1Settings,
    extract: ExtractSettings,
    what: str,
) -> PairSide:
    cache = settings.train_layers == 0
    media = MediaSegments(media_encoder, media_reader, modality, settings.segments, extract, cache)
    if cache:
        media.precompute(clips.ids, f"{what} {modality}")
    text = TextCLS(text_encoder, dict(zip(clips.ids, clips.texts)), extract, cache)
    return PairSide(clips, media, text)


def _embed(
    pair: ContrastivePair, side: PairSide, ids: list[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    return pair.media_embedding(side.media(ids)), pair.text_embedding(side.text(ids))


@torch.no_grad()
def evaluate(
    pair: ContrastivePair, side: PairSide, batch_size: int, split: str = "valid"
) -> dict[str, float]:
    """InfoNCE (batches in order) and media->text recall@1/@5 over a whole split, keys prefixed
    with the split's name."""
    ids = side.clips.ids
    if len(ids) < 2:
        return {f"{split}_{k}": math.nan for k in ("loss", "recall_at_1", "recall_at_5")}
    media, text, losses, weights = [], [], [], []
    for start in range(0, len(ids), batch_size):
        m, t = _embed(pair, side, ids[start : start + batch_size])
        media.append(m)
        text.append(t)
        if len(m) > 1:
            losses.append(float(pair.loss(m, t)))
            weights.append(len(m))
    sim = pair.logits(torch.cat(media), torch.cat(text))
    groups = text_groups(side.clips.texts)
    return {
        f"{split}_loss": float(np.average(losses, weights=weights)),
        f"{split}_recall_at_1": recall_at_k(sim, groups, 1),
        f"{split}_recall_at_5": recall_at_k(sim, groups, 5),
        f"{split}_chance_at_1": chance_recall_at_k(groups, 1),
        f"{split}_chance_at_5": chance_recall_at_k(groups, 5),
    }


def _selection_score(row: Mapping[str, float]) -> tuple[float, float]:
    """Valid recall@5, then @1; a split too small to score ranks lowest."""
    return tuple(
        -math.inf if math.isnan(row[k]) else row[k]
        for k in ("valid_recall_at_5", "valid_recall_at_1")
    )


def _snapshot(
    pair: ContrastivePair, media_encoder: torch.nn.Module, text_encoder: torch.nn.Module
) -> dict[str, dict]:
    """The pair's state and the encoders' trainable parameters, copied."""
    return {
        "pair": {k: v.detach().clone() for k, v in pair.state_dict().items()},
        **encoder_states(media_encoder, text_encoder),
    }


def _restore(
    snapshot: dict[str, dict],
    pair: ContrastivePair,
    media_encoder: torch.nn.Module,
    text_encoder: torch.nn.Module,
) -> None:
    pair.load_state_dict(snapshot["pair"])
    media_encoder.load_state_dict(snapshot["media"], strict=False)
    text_encoder.load_state_dict(snapshot["text"], strict=False)


@torch.no_grad()
def fit_standardization(pair: ContrastivePair, side: PairSide, batch_size: int) -> None:
    """Fit both heads' input standardisation on a split (segment means and CLS vectors)."""
    ids = side.clips.ids
    media, text = [], []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        media.append(torch.cat(side.media(chunk)).float().cpu())
        text.append(side.text(chunk).float().cpu())
    pair.media_head.fit_standardization(torch.cat(media))
    pair.text_head.fit_standardization(torch.cat(text))


def train_pair(
    train: PairSide,
    valid: PairSide,
    media_encoder: torch.nn.Module,
    text_encoder: torch.nn.Module,
    settings: Stage1Settings,
    device: torch.device,
    test: PairSide | None = None,
) -> tuple[ContrastivePair, pd.DataFrame]:
    """Train the heads (and the unfrozen encoder blocks) of a pair; returns the pair, set to the
    selected snapshot, and the log (its ``selected`` column marks that epoch)."""
    if len(train.clips.ids) < 2:
        raise ValueError(
            f"Stage I needs at least 2 train clips with media and text, got {len(train.clips.ids)} "
            f"(left out: {train.clips.reasons()})"
        )
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    pair = ContrastivePair(media_encoder.dim, text_encoder.dim, **settings.head()).to(device)
    if settings.standardize:
        fit_standardization(pair, train, settings.batch_size)
    optimizer = torch.optim.AdamW(param_groups(pair, media_encoder, text_encoder, settings))
    n = len(train.clips.ids)
    batches_per_epoch = n // settings.batch_size + (1 if n % settings.batch_size > 1 else 0)
    schedule = SGDR(
        optimizer,
        settings.cycle_epochs * batches_per_epoch,
        settings.lr_max,
        settings.lr_min,
        settings.cycle_mult,
    )
    ids = np.array(train.clips.ids)
    rows, best, best_score, best_epoch = [], None, None, None
    for epoch in tqdm(
        range(1, settings.epochs + 1), desc="stage1 epochs", unit="epoch", leave=False
    ):
        start, lr, losses = time.perf_counter(), schedule.lr, []
        encoder_lr = optimizer.param_groups[-1]["lr"] if settings.train_layers else math.nan
        pair.train()
        order = rng.permutation(n)
        for b in range(batches_per_epoch):
            batch = ids[order[b * settings.batch_size : (b + 1) * settings.batch_size]].tolist()
            media, text = _embed(pair, train, batch)
            loss = pair.loss(media, text)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            pair.clamp_temperature()
            schedule.step()
            losses.append(loss.detach().item())
        pair.eval()
        row = {
            "epoch": epoch,
            "lr": lr,
            "encoder_lr": encoder_lr,
            "train_loss": float(np.mean(losses)),
        }
        row.update(evaluate(pair, valid, settings.batch_size))
        if test is not None:
            row.update(evaluate(pair, test, settings.batch_size, "test"))
        last = epoch == settings.epochs
        if last or (settings.select == "best_cycle" and schedule.at_cycle_end):
            score = _selection_score(row)
            if best_score is None or score > best_score:
                best, best_score, best_epoch = (
                    _snapshot(pair, media_encoder, text_encoder),
                    score,
                    epoch,
                )
        row.update(
            n_train=n,
            n_left_out=len(train.clips.left_out),
            temperature=pair.temperature,
            seconds=time.perf_counter() - start,
        )
        rows.append(row)
        log.info(
            "epoch %d: lr %.2e train loss %.4f valid loss %.4f R@1 %.3f R@5 %.3f (chance %.3f / %.3f)",
            epoch,
            lr,
            row["train_loss"],
            row["valid_loss"],
            row["valid_recall_at_1"],
            row["valid_recall_at_5"],
            row.get("valid_chance_at_1", math.nan),
            row.get("valid_chance_at_5", math.nan),
        )
    _restore(best, pair, media_encoder, text_encoder)
    history = pd.DataFrame(rows, columns=LOG_COLUMNS)
    history["selected"] = history["epoch"] == best_epoch
    log.info("kept the model of epoch %d (select: %s)", best_epoch, settings.select)
    return pair, history


def param_groups(
    pair: ContrastivePair,
    media_encoder: torch.nn.Module,
    text_encoder: torch.nn.Module,
    settings: Stage1Settings,
) -> list[dict[str, Any]]:
    """AdamW groups: the heads at ``head_lr`` with weight decay, the temperature at ``head_lr``
    without (as CLIP), and the unfrozen encoder blocks at ``lr_max`` with weight decay. Each
    group's ``peak_lr`` is what SGDR anneals from."""
    temperature = [pair.logit_scale]
    heads = [p for name, p in pair.named_parameters() if name != "logit_scale"]
    encoders = freeze_except_tail(media_encoder, settings.train_layers)
    encoders += freeze_except_tail(text_encoder, settings.train_layers)
    groups = [
        {"params": heads, "weight_decay": settings.weight_decay, "peak_lr": settings.head_lr},
        {"params": temperature, "weight_decay": 0.0, "peak_lr": settings.head_lr},
    ]
    if encoders:
        groups.append(
            {"params": encoders, "weight_decay": settings.weight_decay, "peak_lr": settings.lr_max}
        )
    for group in groups:
        group["lr"] = group["peak_lr"]
    return groups


def encoder_states(
    media_encoder: torch.nn.Module, text_encoder: torch.nn.Module
) -> dict[str, dict]:
    """The trainable (unfrozen) parameters of both encoders, for the checkpoint."""
    return {"media": trainable_state(media_encoder), "text": trainable_state(text_encoder)}

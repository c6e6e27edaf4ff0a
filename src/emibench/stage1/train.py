"""Stage I training: symmetric InfoNCE per pair, SGDR, per-epoch log with each pair's figures.

One Stage I model trains one pair (objective ``pairs``: vision-text or audio-text, each with its
own text encoder) or both pairs with one text encoder (objective ``joint``, the paper's section 3.6:
``L = L_v2t + L_a2t``). Each pair has its media head, text head and temperature.

Each epoch shuffles the train clips (the union of the pairs' clips) into batches of
``batch_size`` (a last batch of one clip is dropped: InfoNCE needs negatives), runs the text
encoder once per batch, and sums each pair's InfoNCE over the clips of the batch that have the
pair's medium (a pair with fewer than two such clips in a batch adds nothing); the SGDR learning
rate is set every iteration. After each epoch, each pair is evaluated on valid (and on test when
given) over the split's clips with its medium: the InfoNCE loss over batches in a fixed order,
and media->text retrieval recall@1 and @5 (see ``stage1.retrieval``). The model kept is, with
``select: best_cycle``, the snapshot with the best valid recall@5 (then recall@1), averaged over
the pairs, among the SGDR cycle ends (where the learning rate reaches ``lr_min``) and the last
epoch; with ``select: last``, the last epoch's. Test never takes part in the choice.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from emibench.encoding.settings import ExtractSettings
from emibench.features.sets import STAGE1_OBJECTIVES
from emibench.settings import ConfigError, settings_from
from emibench.stage1.checkpoint import freeze_except_tail, trainable_state
from emibench.stage1.data import PAIRS, MediaSegments, Stage1Clips, TextCLS
from emibench.stage1.model import ContrastivePair
from emibench.stage1.retrieval import chance_recall_at_k, recall_at_k, text_groups
from emibench.stage1.schedule import SGDR

log = logging.getLogger(__name__)

# one row per epoch and pair
LOG_COLUMNS = [
    "epoch",
    "pair",
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
OBJECTIVES = tuple(STAGE1_OBJECTIVES)
# keys of config section stage1 that are not training settings: the Stage I seeds (the workflow
# makes one job per seed) and the output the stage1 feature set stores (emibench features)
WORKFLOW_KEYS = ("seeds", "features")


@dataclass
class Stage1Settings:
    """Config section ``stage1`` (see config/schema/stage1.schema.yaml) less its workflow keys
    (``seeds``; ``features``, which only the feature extraction reads)."""

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
    objective: str = "joint"
    text_pair: str = "vision_text"
    standardize: bool = True
    select: str = "best_cycle"

    def __post_init__(self) -> None:
        if self.select not in SELECT:
            raise ConfigError(f"stage1.select must be one of {SELECT}, got {self.select!r}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"stage1.objective must be one of {OBJECTIVES}, got {self.objective!r}"
            )
        if self.text_pair not in PAIRS:
            raise ConfigError(
                f"stage1.text_pair must be one of {tuple(PAIRS)}, got {self.text_pair!r}"
            )

    def head(self) -> dict[str, Any]:
        return {
            "proj_dim": self.proj_dim,
            "proj_hidden": self.proj_hidden,
            "init_temperature": self.init_temperature,
            "max_logit_scale": self.max_logit_scale,
        }


def stage1_settings(values: Mapping[str, Any] | str | None) -> Stage1Settings:
    """``Stage1Settings`` from config section ``stage1`` (its workflow keys dropped)."""
    return settings_from(Stage1Settings, values, "stage1", ignore=WORKFLOW_KEYS)


Segments = Callable[[Sequence[str]], list[torch.Tensor]]


@dataclass
class Side:
    """One split's inputs: the clips, each pair's media segment means [(M_i, D)] and the text CLS
    vectors (B, D_t) of any ids."""

    clips: Stage1Clips
    media: dict[str, Segments]
    text: Callable[[Sequence[str]], torch.Tensor]


def build_side(
    clips: Stage1Clips,
    encoders: Mapping[str, nn.Module],
    media_reader,
    pairs: Sequence[str],
    settings: Stage1Settings,
    extract: ExtractSettings,
    what: str,
) -> Side:
    """``encoders`` maps ``visual``/``audio``/``text`` to the encoders of ``pairs``."""
    cache = settings.train_layers == 0
    media = {}
    for pair in pairs:
        modality = PAIRS[pair]
        segments = MediaSegments(
            encoders[modality], media_reader, modality, settings.segments, extract, cache
        )
        if cache:
            segments.precompute(clips.of(pair), f"{what} {modality}")
        media[pair] = segments
    text = TextCLS(encoders["text"], dict(zip(clips.ids, clips.texts)), extract, cache)
    return Side(clips, media, text)


@torch.no_grad()
def evaluate(
    pair: ContrastivePair, side: Side, name: str, batch_size: int, split: str = "valid"
) -> dict[str, float]:
    """InfoNCE (batches in order) and media->text recall@1/@5 of pair ``name`` over the split's
    clips with its medium, keys prefixed with the split's name."""
    ids, texts = side.clips.of(name), side.clips.texts_of(name)
    if len(ids) < 2:
        return {f"{split}_{k}": math.nan for k in ("loss", "recall_at_1", "recall_at_5")}
    media, text, losses, weights = [], [], [], []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        m = pair.media_embedding(side.media[name](chunk))
        t = pair.text_embedding(side.text(chunk))
        media.append(m)
        text.append(t)
        if len(m) > 1:
            losses.append(float(pair.loss(m, t)))
            weights.append(len(m))
    sim = pair.logits(torch.cat(media), torch.cat(text))
    groups = text_groups(texts)
    return {
        f"{split}_loss": float(np.average(losses, weights=weights)),
        f"{split}_recall_at_1": recall_at_k(sim, groups, 1),
        f"{split}_recall_at_5": recall_at_k(sim, groups, 5),
        f"{split}_chance_at_1": chance_recall_at_k(groups, 1),
        f"{split}_chance_at_5": chance_recall_at_k(groups, 5),
    }


def selection_score(rows: Sequence[Mapping[str, float]]) -> tuple[float, float]:
    """Valid recall@5, then @1, each averaged over the pairs' rows of one epoch; a split too small
    to score ranks lowest."""
    score = []
    for key in ("valid_recall_at_5", "valid_recall_at_1"):
        values = [row[key] for row in rows]
        score.append(-math.inf if any(math.isnan(v) for v in values) else float(np.mean(values)))
    return tuple(score)


def _snapshot(pairs: nn.ModuleDict, encoders: Mapping[str, nn.Module]) -> dict[str, dict]:
    """The pairs' state and the encoders' trainable parameters, copied."""
    return {
        "pairs": {k: v.detach().clone() for k, v in pairs.state_dict().items()},
        "encoders": encoder_states(encoders),
    }


def _restore(snapshot: dict[str, dict], pairs: nn.ModuleDict, encoders) -> None:
    pairs.load_state_dict(snapshot["pairs"])
    for modality, state in snapshot["encoders"].items():
        encoders[modality].load_state_dict(state, strict=False)


@torch.no_grad()
def fit_standardization(pair: ContrastivePair, side: Side, name: str, batch_size: int) -> None:
    """Fit both heads' input standardisation on a split's clips of the pair (segment means and CLS
    vectors)."""
    ids = side.clips.of(name)
    media, text = [], []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        media.append(torch.cat(side.media[name](chunk)).float().cpu())
        text.append(side.text(chunk).float().cpu())
    pair.media_head.fit_standardization(torch.cat(media), f"{name} media segments")
    pair.text_head.fit_standardization(torch.cat(text), f"{name} transcripts (text CLS)")


def _batch_loss(
    pairs: nn.ModuleDict, side: Side, batch: list[str]
) -> tuple[torch.Tensor | None, dict[str, float]]:
    """Sum over the pairs of the InfoNCE of the batch's clips with that pair's medium (the text
    encoder runs once for the batch); also each pair's own loss."""
    cls = side.text(batch)
    total, parts = None, {}
    for name, pair in pairs.items():
        present = side.clips.media[name]
        rows = [k for k, clip_id in enumerate(batch) if clip_id in present]
        if len(rows) < 2:
            continue
        media = pair.media_embedding(side.media[name]([batch[k] for k in rows]))
        loss = pair.loss(media, pair.text_embedding(cls[rows]))
        parts[name] = loss.detach().item()
        total = loss if total is None else total + loss
    return total, parts


def train_stage1(
    train: Side,
    valid: Side,
    encoders: Mapping[str, nn.Module],
    pair_names: Sequence[str],
    settings: Stage1Settings,
    device: torch.device,
    test: Side | None = None,
) -> tuple[nn.ModuleDict, pd.DataFrame]:
    """Train the heads (and the unfrozen encoder blocks) of ``pair_names`` with one summed loss;
    returns the pairs, set to the selected snapshot, and the log (one row per epoch and pair; its
    ``selected`` column marks the kept epoch's rows). ``encoders`` holds the text encoder and the
    media encoder of each pair (``visual``, ``audio``, ``text``)."""
    for name in pair_names:
        if len(train.clips.of(name)) < 2:
            raise ValueError(
                f"Stage I {name} needs at least 2 train clips with {PAIRS[name]} and text, got "
                f"{len(train.clips.of(name))} (left out: {train.clips.reasons()})"
            )
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    pairs = nn.ModuleDict(
        {
            name: ContrastivePair(
                encoders[PAIRS[name]].dim, encoders["text"].dim, **settings.head()
            )
            for name in pair_names
        }
    ).to(device)
    if settings.standardize:
        for name, pair in pairs.items():
            fit_standardization(pair, train, name, settings.batch_size)
    optimizer = torch.optim.AdamW(param_groups(pairs, encoders, settings), foreach=True)
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
    n_ids = len(train.clips.ids) + len(train.clips.left_out)
    rows, best, best_score, best_epoch = [], None, None, None
    for epoch in tqdm(
        range(1, settings.epochs + 1), desc="stage1 epochs", unit="epoch", leave=False
    ):
        start, lr = time.perf_counter(), schedule.lr
        encoder_lr = optimizer.param_groups[-1]["lr"] if settings.train_layers else math.nan
        losses: dict[str, list[float]] = {name: [] for name in pairs}
        pairs.train()
        order = rng.permutation(n)
        for b in range(batches_per_epoch):
            batch = ids[order[b * settings.batch_size : (b + 1) * settings.batch_size]].tolist()
            loss, parts = _batch_loss(pairs, train, batch)
            if loss is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for pair in pairs.values():
                    pair.clamp_temperature()
            schedule.step()
            for name, value in parts.items():
                losses[name].append(value)
        pairs.eval()
        epoch_rows = []
        for name, pair in pairs.items():
            row = {
                "epoch": epoch,
                "pair": name,
                "lr": lr,
                "encoder_lr": encoder_lr,
                "train_loss": float(np.mean(losses[name])) if losses[name] else math.nan,
            }
            row.update(evaluate(pair, valid, name, settings.batch_size))
            if test is not None:
                row.update(evaluate(pair, test, name, settings.batch_size, "test"))
            n_pair = len(train.clips.of(name))
            row.update(n_train=n_pair, n_left_out=n_ids - n_pair, temperature=pair.temperature)
            epoch_rows.append(row)
        last = epoch == settings.epochs
        if last or (settings.select == "best_cycle" and schedule.at_cycle_end):
            score = selection_score(epoch_rows)
            if best_score is None or score > best_score:
                best, best_score, best_epoch = _snapshot(pairs, encoders), score, epoch
        seconds = time.perf_counter() - start
        for row in epoch_rows:
            row["seconds"] = seconds
            log.info(
                "epoch %d %s: lr %.2e train loss %.4f valid loss %.4f R@1 %.3f R@5 %.3f "
                "(chance %.3f / %.3f)",
                epoch,
                row["pair"],
                lr,
                row["train_loss"],
                row["valid_loss"],
                row["valid_recall_at_1"],
                row["valid_recall_at_5"],
                row.get("valid_chance_at_1", math.nan),
                row.get("valid_chance_at_5", math.nan),
            )
        rows.extend(epoch_rows)
    _restore(best, pairs, encoders)
    history = pd.DataFrame(rows, columns=LOG_COLUMNS)
    history["selected"] = history["epoch"] == best_epoch
    log.info("kept the model of epoch %d (select: %s)", best_epoch, settings.select)
    return pairs, history


def param_groups(
    pairs: nn.ModuleDict, encoders: Mapping[str, nn.Module], settings: Stage1Settings
) -> list[dict[str, Any]]:
    """AdamW groups: every pair's heads at ``head_lr`` with weight decay, the temperatures at
    ``head_lr`` without (as CLIP), and the unfrozen encoder blocks at ``lr_max`` with weight
    decay. Each group's ``peak_lr`` is what SGDR anneals from."""
    temperature = [pair.logit_scale for pair in pairs.values()]
    heads = [
        p for pair in pairs.values() for name, p in pair.named_parameters() if name != "logit_scale"
    ]
    blocks = [
        p
        for encoder in encoders.values()
        for p in freeze_except_tail(encoder, settings.train_layers)
    ]
    groups = [
        {"params": heads, "weight_decay": settings.weight_decay, "peak_lr": settings.head_lr},
        {"params": temperature, "weight_decay": 0.0, "peak_lr": settings.head_lr},
    ]
    if blocks:
        groups.append(
            {"params": blocks, "weight_decay": settings.weight_decay, "peak_lr": settings.lr_max}
        )
    for group in groups:
        group["lr"] = group["peak_lr"]
    return groups


def encoder_states(encoders: Mapping[str, nn.Module]) -> dict[str, dict]:
    """The trainable (unfrozen) parameters of each encoder, for the checkpoint."""
    return {modality: trainable_state(encoder) for modality, encoder in encoders.items()}

"""One Stage I job: load the pair's encoders, read each split's clips, train, write the results."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from emibench.data.tables import write_table
from emibench.encoders.registry import load_encoder
from emibench.encoding.media import MediaReader, read_transcripts
from emibench.encoding.settings import ExtractSettings
from emibench.features.sets import ENCODER_KIND
from emibench.stage1.checkpoint import save_checkpoint
from emibench.stage1.data import PAIRS, select_clips
from emibench.stage1.train import PairSide, Stage1Settings, build_side, encoder_states, train_pair

log = logging.getLogger(__name__)


def _ids(media: MediaReader, transcripts: pd.DataFrame) -> list[str]:
    reader = media.frames if media.frames is not None else media.audio
    return sorted(set(transcripts.index) | set(reader.ids()))


def read_side(
    pair: str,
    split: str,
    media_paths: Sequence[str],
    transcript_paths: Sequence[str],
    media_encoder: torch.nn.Module,
    text_encoder: torch.nn.Module,
    settings: Stage1Settings,
    extract: ExtractSettings,
) -> PairSide:
    """The clips of one split that pair up (media and a transcript), ready for training."""
    modality = PAIRS[pair]
    reader = (
        MediaReader(frames=list(media_paths))
        if modality == "visual"
        else MediaReader(audio=list(media_paths))
    )
    transcripts = read_transcripts(list(transcript_paths))
    clips = select_clips(_ids(reader, transcripts), reader, transcripts, modality)
    log.info(
        "%s %s: %d clips pair up, %d left out %s",
        pair,
        split,
        len(clips.ids),
        len(clips.left_out),
        clips.reasons(),
    )
    return build_side(
        clips, media_encoder, text_encoder, reader, modality, settings, extract, split
    )


def align_pair(
    pair: str,
    inputs: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    media_spec: Mapping[str, Any],
    text_spec: Mapping[str, Any],
    settings: Stage1Settings,
    extract: ExtractSettings,
    device: torch.device,
    checkpoint: str | Path,
    log_path: str | Path,
) -> pd.Series:
    """Train one pair and write its checkpoint and per-epoch log; returns the kept epoch's row.

    ``inputs`` maps train, valid and (optionally) test to (media store paths, transcript paths).
    """
    kind = ENCODER_KIND[PAIRS[pair]]
    media_encoder = load_encoder(kind, media_spec).to(device)
    text_encoder = load_encoder("text", text_spec).to(device)
    sides = {
        split: read_side(pair, split, media, texts, media_encoder, text_encoder, settings, extract)
        for split, (media, texts) in inputs.items()
    }
    model, history = train_pair(
        sides["train"],
        sides["valid"],
        media_encoder,
        text_encoder,
        settings,
        device,
        test=sides.get("test"),
    )
    kept = history[history["selected"]].iloc[0]
    write_table(history, log_path)
    save_checkpoint(
        checkpoint,
        pair=pair,
        media_kind=kind,
        encoders={"media": dict(media_spec), "text": dict(text_spec)},
        train_layers=settings.train_layers,
        segments=settings.segments,
        head=settings.head(),
        pair_state={k: v.cpu() for k, v in model.state_dict().items()},
        encoder_state=encoder_states(media_encoder, text_encoder),
        history=history.to_dict("records"),
        selected_epoch=int(kept["epoch"]),
        settings=vars(settings),
        left_out={s: sides[s].clips.left_out for s in sides},
    )
    log.info(
        "done: stage1 %s, %d epochs, %d train clips (%d left out), kept epoch %d: valid R@1 %.3f "
        "R@5 %.3f (chance %.3f / %.3f), test R@1 %.3f R@5 %.3f (chance %.3f / %.3f)",
        pair,
        len(history),
        kept["n_train"],
        kept["n_left_out"],
        kept["epoch"],
        kept["valid_recall_at_1"],
        kept["valid_recall_at_5"],
        kept["valid_chance_at_1"],
        kept["valid_chance_at_5"],
        kept["test_recall_at_1"],
        kept["test_recall_at_5"],
        kept["test_chance_at_1"],
        kept["test_chance_at_5"],
    )
    return kept

"""One Stage I job: load the encoders, read each split's clips, train, write the results."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from emibench.data.tables import write_table
from emibench.encoders.registry import load_encoder
from emibench.encoding.media import MediaReader, read_transcripts
from emibench.encoding.settings import ExtractSettings
from emibench.stage1.checkpoint import save_checkpoint
from emibench.stage1.data import ENCODER_KIND, OBJECTIVE_PAIRS, PAIRS, select_clips
from emibench.stage1.train import Side, Stage1Settings, build_side, encoder_states, train_stage1

log = logging.getLogger(__name__)


@dataclass
class SplitInputs:
    """One split's stores: frames (vision-text), audio (audio-text), transcripts."""

    transcripts: Sequence[str]
    frames: Sequence[str] = ()
    audio: Sequence[str] = ()


def _ids(media: MediaReader, transcripts: pd.DataFrame) -> list[str]:
    ids = set(transcripts.index)
    for reader in (media.frames, media.audio):
        if reader is not None:
            ids |= set(reader.ids())
    return sorted(ids)


def read_side(
    split: str,
    inputs: SplitInputs,
    pairs: Sequence[str],
    encoders: Mapping[str, torch.nn.Module],
    settings: Stage1Settings,
    extract: ExtractSettings,
) -> Side:
    """The clips of one split that take part (a transcript and a medium of ``pairs``), ready for
    training."""
    reader = MediaReader(frames=list(inputs.frames), audio=list(inputs.audio))
    transcripts = read_transcripts(list(inputs.transcripts))
    clips = select_clips(_ids(reader, transcripts), reader, transcripts, pairs)
    log.info(
        "%s: %d clips take part (%s), %d left out %s",
        split,
        len(clips.ids),
        ", ".join(f"{pair} {len(clips.media[pair])}" for pair in pairs),
        len(clips.left_out),
        clips.reasons(),
    )
    return build_side(clips, encoders, reader, pairs, settings, extract, split)


def align(
    target: str,
    inputs: Mapping[str, SplitInputs],
    specs: Mapping[str, Mapping[str, Any]],
    settings: Stage1Settings,
    extract: ExtractSettings,
    device: torch.device,
    checkpoint: str | Path,
    log_path: str | Path,
) -> pd.DataFrame:
    """Train one Stage I model and write its checkpoint and per-epoch log; returns the kept
    epoch's rows (one per pair).

    ``target`` is ``joint`` or one pair (``vision_text``, ``audio_text``); ``inputs`` maps train,
    valid and (optionally) test to their stores; ``specs`` maps ``visual``, ``audio``, ``text`` to
    the encoder specs the target needs.
    """
    pairs = OBJECTIVE_PAIRS[target]
    modalities = [*(PAIRS[p] for p in pairs), "text"]
    encoders = {m: load_encoder(ENCODER_KIND[m], specs[m]).to(device) for m in modalities}
    sides = {
        split: read_side(split, stores, pairs, encoders, settings, extract)
        for split, stores in inputs.items()
    }
    model, history = train_stage1(
        sides["train"], sides["valid"], encoders, pairs, settings, device, test=sides.get("test")
    )
    kept = history[history["selected"]]
    write_table(history, log_path)
    save_checkpoint(
        checkpoint,
        objective=settings.objective,
        pairs=list(pairs),
        encoders={m: dict(specs[m]) for m in modalities},
        train_layers=settings.train_layers,
        segments=settings.segments,
        head=settings.head(),
        pair_state={
            name: {k: v.cpu() for k, v in pair.state_dict().items()} for name, pair in model.items()
        },
        encoder_state=encoder_states(encoders),
        history=history.to_dict("records"),
        selected_epoch=int(kept["epoch"].iloc[0]),
        settings=vars(settings),
        left_out={s: sides[s].clips.left_out for s in sides},
    )
    for _, row in kept.iterrows():
        log.info(
            "done: stage1 %s, %d epochs, %d train clips (%d left out), kept epoch %d: valid R@1 "
            "%.3f R@5 %.3f (chance %.3f / %.3f), test R@1 %.3f R@5 %.3f (chance %.3f / %.3f)",
            row["pair"],
            history["epoch"].max(),
            row["n_train"],
            row["n_left_out"],
            row["epoch"],
            row["valid_recall_at_1"],
            row["valid_recall_at_5"],
            row["valid_chance_at_1"],
            row["valid_chance_at_5"],
            row["test_recall_at_1"],
            row["test_recall_at_5"],
            row["test_chance_at_1"],
            row["test_chance_at_5"],
        )
    return kept

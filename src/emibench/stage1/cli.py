"""``emibench stage1``: contrastive alignment of one pair (vision-text or audio-text)."""

from __future__ import annotations

import argparse
import json
import logging
import time

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "stage1",
        help="Stage I: vision-text or audio-text contrastive alignment (InfoNCE, SGDR)",
        description="Train the projection heads, temperature and optionally the last encoder blocks of "
        "one pair on the train split (paper eq. 1, section 4.3); log loss and retrieval recall on valid "
        "(and test, when given) per epoch; keep the snapshot that the setting select names; write "
        "the checkpoint and the log.",
    )
    parser.add_argument(
        "--pair", required=True, choices=["vision_text", "audio_text"], help="which pair to train"
    )
    for split in ("train", "valid", "test"):
        given = "" if split != "test" else " (optional: retrieval on test is logged, never used)"
        parser.add_argument(
            f"--{split}-media",
            nargs="+",
            required=split != "test",
            help=f"{split} shard stores of the pair's media (frames or audio){given}",
        )
        parser.add_argument(
            f"--{split}-transcripts",
            nargs="+",
            required=split != "test",
            help=f"{split} transcript table(s){given}",
        )
    parser.add_argument(
        "--media-encoder",
        required=True,
        help="JSON spec of the media encoder (encoders.vision/audio)",
    )
    parser.add_argument(
        "--text-encoder", required=True, help="JSON spec of the text encoder (encoders.text)"
    )
    parser.add_argument("--settings", default="{}", help="JSON: config section stage1")
    parser.add_argument(
        "--extract", default="{}", help="JSON: config section features (batch sizes, precision)"
    )
    parser.add_argument("--checkpoint", required=True, help="output checkpoint (.pt)")
    parser.add_argument("--log", required=True, help="output per-epoch log (.tsv)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.set_defaults(func=_stage1)


def _ids(media, transcripts) -> list[str]:
    reader = media.frames if media.frames is not None else media.audio
    return sorted(set(transcripts.index) | set(reader.ids()))


def _stage1(args: argparse.Namespace) -> int:
    import torch

    from emibench.data.tables import write_table
    from emibench.devices import resolve_device
    from emibench.encoders.registry import load_encoder
    from emibench.features.cli import extract_settings
    from emibench.features.media import MediaReader, read_transcripts
    from emibench.stage1.checkpoint import save_checkpoint
    from emibench.stage1.data import ENCODER_KIND, PAIRS, select_clips
    from emibench.stage1.train import Stage1Settings, build_side, encoder_states, train_pair

    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    settings = Stage1Settings.from_dict(json.loads(args.settings))
    extract = extract_settings(json.loads(args.extract))
    modality = PAIRS[args.pair]
    kind = ENCODER_KIND[modality]
    media_spec, text_spec = json.loads(args.media_encoder), json.loads(args.text_encoder)
    media_encoder = load_encoder(kind, media_spec).to(device)
    text_encoder = load_encoder("text", text_spec).to(device)

    if (args.test_media is None) != (args.test_transcripts is None):
        raise SystemExit("stage1: give both --test-media and --test-transcripts, or neither")
    sides = {}
    for split in ("train", "valid", "test"):
        paths = getattr(args, f"{split}_media")
        if paths is None:
            continue
        reader = MediaReader(frames=paths) if modality == "visual" else MediaReader(audio=paths)
        transcripts = read_transcripts(getattr(args, f"{split}_transcripts"))
        clips = select_clips(_ids(reader, transcripts), reader, transcripts, modality)
        log.info(
            "%s %s: %d clips pair up, %d left out %s",
            args.pair,
            split,
            len(clips.ids),
            len(clips.left_out),
            clips.reasons(),
        )
        sides[split] = build_side(
            clips, media_encoder, text_encoder, reader, modality, settings, extract, split
        )

    pair, history = train_pair(
        sides["train"],
        sides["valid"],
        media_encoder,
        text_encoder,
        settings,
        device,
        test=sides.get("test"),
    )
    kept = history[history["selected"]].iloc[0]
    write_table(history, args.log)
    save_checkpoint(
        args.checkpoint,
        pair=args.pair,
        media_kind=kind,
        encoders={"media": media_spec, "text": text_spec},
        train_layers=settings.train_layers,
        segments=settings.segments,
        head=settings.head(),
        pair_state={k: v.cpu() for k, v in pair.state_dict().items()},
        encoder_state=encoder_states(media_encoder, text_encoder),
        history=history.to_dict("records"),
        selected_epoch=int(kept["epoch"]),
        settings=vars(settings),
        left_out={s: sides[s].clips.left_out for s in sides},
    )
    log.info(
        "done: stage1 %s, %d epochs, %d train clips (%d left out), kept epoch %d: valid R@1 %.3f "
        "R@5 %.3f (chance %.3f / %.3f), test R@1 %.3f R@5 %.3f (chance %.3f / %.3f), %.1f s",
        args.pair,
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
        time.perf_counter() - start,
    )
    return 0

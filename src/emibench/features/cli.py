"""``emibench features``: the visual, audio and text feature stores of shards of one feature set."""

from __future__ import annotations

import argparse
import logging
from collections import Counter

from emibench.features.sets import FEATURE_SETS, SET_MODALITIES

MODALITIES = ("visual", "audio", "text")
from emibench.settings import ConfigError
from emibench.steps import add_compute_options, json_arg

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "features",
        help="extract the feature stores of shards of one split and one feature set",
        description="Write the feature stores of each shard (the modalities whose outputs are "
        "given, among those the set is made of): visual per frame, audio pooled onto "
        "the visual time base (native rate kept as 'raw'), text tokens with the CLS vector. "
        "'official': the organisers' vit/ and wav2vec2/ .pkl files when present (--official-source), "
        "else the frozen baseline encoders; 'frozen': the paper's encoders; 'stage1': the Stage I "
        "encoders with their projection heads; 'taemi': the visual store only, from TAEMI's ViT.",
    )
    parser.add_argument("--featset", required=True, choices=list(FEATURE_SETS), help="feature set")
    parser.add_argument(
        "--split", required=True, choices=["train", "valid", "test"], help="split of the shard"
    )
    parser.add_argument(
        "--shard", required=True, type=int, nargs="+", help="shard number(s) within the split"
    )
    parser.add_argument(
        "--manifest", required=True, help="manifest.tsv (ids of the shard, durations)"
    )
    parser.add_argument("--frames", required=True, nargs="+", help="each shard's frames store")
    parser.add_argument(
        "--audio", nargs="+", default=[], help="each shard's audio store (with --audio-out)"
    )
    parser.add_argument(
        "--transcripts", nargs="+", default=[], help="each shard's transcripts (with --text-out)"
    )
    for modality in MODALITIES:
        parser.add_argument(
            f"--{modality}-out",
            nargs="+",
            default=[],
            help=f"each shard's {modality} output (only the modalities given are extracted)",
        )
    parser.add_argument(
        "--settings", type=json_arg, default={}, help="JSON: config section features"
    )
    encoders = parser.add_argument_group("official and frozen feature sets")
    encoders.add_argument(
        "--vision",
        type=json_arg,
        default=None,
        help="JSON spec of the vision encoder (frozen: encoders.vision; official: "
        "baseline_vision; taemi: taemi_vision)",
    )
    encoders.add_argument(
        "--audio-encoder",
        type=json_arg,
        default=None,
        help="JSON spec of the audio encoder (frozen: encoders.audio; official: baseline_audio)",
    )
    encoders.add_argument(
        "--text", type=json_arg, default=None, help="JSON spec of the text encoder (encoders.text)"
    )
    encoders.add_argument(
        "--dataset-root",
        default="",
        help="official: dataset root whose vit/ and wav2vec2/ organiser files are used",
    )
    encoders.add_argument(
        "--official-source",
        choices=["organiser", "encoders", "auto"],
        default=None,
        help="official: organiser files, the encoders, or organiser files where present",
    )
    stage1 = parser.add_argument_group("stage1 feature set")
    stage1.add_argument("--visual-ckpt", default="", help="vision_text Stage I checkpoint")
    stage1.add_argument("--audio-ckpt", default="", help="audio_text Stage I checkpoint")
    stage1.add_argument(
        "--text-ckpt", default="", help="the Stage I checkpoint whose text side is stored"
    )
    add_compute_options(parser)
    parser.set_defaults(func=_features)


def _required(args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise ConfigError(
            f"emibench features --featset {args.featset}: missing {' '.join(missing)}"
        )


def _encoder_sources(args: argparse.Namespace, device, wanted: list[str]) -> dict:
    """Frozen encoders of the ``wanted`` modalities (``frozen``, ``taemi``; ``official`` where
    organiser files are not used)."""
    from emibench.encoders.registry import load_encoder
    from emibench.features.extract import Source
    from emibench.features.official import resolve_official_source

    prefix = {"official": "encoders.baseline_", "taemi": "encoders.taemi_"}.get(
        args.featset, "encoders."
    )
    sources = {}
    for modality, kind, spec_arg in (
        ("visual", "vision", "vision"),
        ("audio", "audio", "audio_encoder"),
    ):
        if modality not in wanted:
            continue
        origin = "encoders"
        if args.featset == "official" and args.dataset_root:
            _required(args, "official_source")
            origin = resolve_official_source(args.official_source, args.dataset_root, modality)
        if origin == "organiser":
            sources[modality] = Source(
                organiser_root=args.dataset_root, label=f"organiser {modality} features"
            )
        else:
            _required(args, spec_arg)
            spec = getattr(args, spec_arg)
            encoder = load_encoder(kind, spec, prefix + kind).to(device)
            sources[modality] = Source(encoder=encoder, label=encoder.name)
        log.info("%s %s features from %s", args.featset, modality, sources[modality].label)
    if "text" in wanted:
        _required(args, "text")
        text = load_encoder("text", args.text).to(device)
        sources["text"] = Source(encoder=text, label=text.name)
    return sources


def _stage1_sources(args: argparse.Namespace, device, wanted: list[str]) -> dict:
    """The Stage I encoders and heads of the ``wanted`` modalities."""
    from emibench.features.extract import Source
    from emibench.stage1.checkpoint import load_stage1

    flags = {"visual": "visual_ckpt", "audio": "audio_ckpt", "text": "text_ckpt"}
    _required(args, *(flags[m] for m in wanted))
    loaded = {}
    for path in {getattr(args, flags[m]) for m in wanted}:
        loaded[path] = load_stage1(path, device)
    stages = {m: loaded[getattr(args, flags[m])] for m in wanted}
    for modality, expected in (("visual", "vision_text"), ("audio", "audio_text")):
        stage = stages.get(modality)
        if stage is not None and stage.pair_name != expected:
            raise ConfigError(
                f"--{flags[modality].replace('_', '-')} {stage.path} is a {stage.pair_name} "
                f"checkpoint; expected {expected}"
            )
    sources = {
        m: Source(encoder=s.media_encoder, head=s.pair.media_head, label=s.label("media"))
        for m, s in stages.items()
        if m != "text"
    }
    if "text" in stages:
        txt = stages["text"]
        sources["text"] = Source(
            encoder=txt.text_encoder, head=txt.pair.text_head, label=txt.label("text")
        )
    return sources


def _features(args: argparse.Namespace) -> int:
    from emibench.data.tables import read_table
    from emibench.devices import resolve_device
    from emibench.encoding.media import MediaReader, read_transcripts, shard_ids
    from emibench.encoding.settings import extract_settings
    from emibench.features.extract import extract_shard

    device = resolve_device(args.device)
    settings = extract_settings(args.settings)
    outs = {m: getattr(args, f"{m}_out") for m in MODALITIES if getattr(args, f"{m}_out")}
    wanted = list(outs)
    if not wanted:
        raise ConfigError("emibench features: give the outputs of at least one modality")
    made = SET_MODALITIES[args.featset]
    extra = [m for m in wanted if m not in made]
    if extra:
        raise ConfigError(
            f"emibench features: --{'-out --'.join(extra)}-out given, but the {args.featset} set "
            f"is made of the {', '.join(made)} store(s) only"
        )
    per_shard = {"frames": args.frames, **{f"{m}-out": p for m, p in outs.items()}}
    if "audio" in wanted:
        per_shard["audio"] = args.audio
    if "text" in wanted:
        per_shard["transcripts"] = args.transcripts
    wrong = [f"--{name} ({len(p)})" for name, p in per_shard.items() if len(p) != len(args.shard)]
    if wrong:
        raise ConfigError(
            f"emibench features: {len(args.shard)} shards but {' '.join(wrong)} paths; "
            "give one per shard"
        )
    manifest = read_table(args.manifest)
    durations = dict(zip(manifest["id"], manifest["duration_s"].astype(float)))
    sources = (
        _stage1_sources(args, device, wanted)
        if args.featset == "stage1"
        else _encoder_sources(args, device, wanted)
    )
    n_clips, present, missing = 0, Counter(), Counter()
    for k, shard in enumerate(args.shard):
        ids = shard_ids(manifest, args.split, shard)
        audio = [args.audio[k]] if "audio" in wanted else []
        media = MediaReader(frames=[args.frames[k]], audio=audio, durations=durations)
        transcripts = read_transcripts([args.transcripts[k]] if "text" in wanted else [])
        outputs = {m: paths[k] for m, paths in outs.items()}
        try:
            summary = extract_shard(
                ids, media, transcripts, outputs, sources, args.featset, settings
            )
        finally:
            media.close()
        n_clips += len(ids)
        present.update(summary.present)
        missing.update(summary.missing)
    log.info(
        "done: %s features of %s shard(s) %s, %d clips; present %s, missing %s",
        args.featset,
        args.split,
        " ".join(f"{s:02d}" for s in args.shard),
        n_clips,
        dict(present),
        dict(missing),
    )
    return 0

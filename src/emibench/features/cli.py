"""``emibench features``: the feature stores of one feature set and split (docs/features.md)."""

from __future__ import annotations

import argparse
import logging
from collections import Counter

from emibench.settings import ConfigError
from emibench.steps import add_compute_options

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    parser = sub.add_parser(
        "features",
        help="extract the feature stores of one feature set and split, shard by shard",
        description="Write the feature stores a job spec names (emibench.plan.jobs.FeatureJob), one "
        "folder per store with one file per shard and an index: visual per frame, audio pooled "
        "onto the visual time base (native rate kept as 'raw'), text tokens with the CLS vector. "
        "'official': the organisers' vit/ and wav2vec2/ .pkl files when present, else the frozen "
        "baseline encoders; 'frozen': the paper's encoders; 'stage1': the Stage I encoders' outputs "
        "(with stage1_features head, their projection heads'); 'taemi': the visual store only, "
        "from TAEMI's ViT.",
    )
    parser.add_argument(
        "--job", required=True, help="the job spec as JSON (the workflow's plan writes it)"
    )
    add_compute_options(parser)
    parser.set_defaults(func=_features)


def _stores_without_input(job, manifest, durations) -> list[str]:
    """The stores of a condition's job (one with ``like``) that no clip has input for: a
    modality the condition removes."""
    from emibench.encoding.media import MediaReader, read_transcripts, shard_ids
    from emibench.features.extract import has_input

    empty = set(job.like) & set(job.outputs)
    for shard in job.shards:
        if not empty:
            break
        ids = shard_ids(manifest, job.split, int(shard.shard))
        audio = [shard.audio] if "audio" in empty else []
        media = MediaReader(frames=[shard.frames], audio=audio, durations=durations)
        transcripts = read_transcripts([shard.transcripts] if "text" in empty else [])
        try:
            empty = {s for s in empty if not any(has_input(s, i, media, transcripts) for i in ids)}
        finally:
            media.close()
    return sorted(empty)


def _like_sources(job, stores) -> dict:
    """Sources of stores without input: the width and encoder name of the clean store."""
    from emibench.data.store import SequenceReader
    from emibench.features.extract import Source

    sources = {}
    for store in stores:
        with SequenceReader(job.like[store]) as clean:
            attrs = clean.store_attrs()
        sources[store] = Source(label=str(attrs["encoder"]), width=int(attrs["dim"]))
        log.info(
            "%s %s: no clip has input; every entry missing, width %d as in %s (no encoder loaded)",
            job.featset,
            store,
            sources[store].width,
            job.like[store],
        )
    return sources


def _encoder_sources(job, device, stores) -> dict:
    """The frozen encoders of ``stores`` (official, frozen, taemi), or the organisers' files
    where the official set takes them."""
    from emibench.encoders.registry import load_encoder
    from emibench.features.extract import Source
    from emibench.features.official import resolve_official_source
    from emibench.features.sets import SET_ENCODERS

    kinds = {"visual": "vision", "audio": "audio", "text": "text"}
    sources = {}
    for store in stores:
        origin = "encoders"
        if job.organiser and store != "text":
            origin = resolve_official_source(job.organiser["source"], job.organiser["root"], store)
        if origin == "organiser":
            sources[store] = Source(
                organiser_root=job.organiser["root"], label=f"organiser {store} features"
            )
        else:
            where = f"encoders.{SET_ENCODERS[job.kind][store]}"
            encoder = load_encoder(kinds[store], job.encoders[store], where).to(device)
            sources[store] = Source(encoder=encoder, label=encoder.name)
        log.info("%s %s features from %s", job.featset, store, sources[store].label)
    return sources


def _stage1_sources(job, device, stores) -> dict:
    """The Stage I encoders of ``stores`` (with ``stage1_features: head``, and their
    projection heads)."""
    from emibench.features.extract import Source
    from emibench.features.sets import STAGE1_OUTPUTS
    from emibench.stage1.checkpoint import load_stage1

    if job.stage1_features not in STAGE1_OUTPUTS:
        raise ConfigError(
            f"--job stage1_features {job.stage1_features!r}: expected one of {STAGE1_OUTPUTS}"
        )
    wanted = {store: path for store, path in job.stage1.items() if store in stores}
    loaded = {path: load_stage1(path, device) for path in set(wanted.values())}
    sources = {}
    for store, path in wanted.items():
        stage = loaded[path]
        if store not in stage.encoders:
            raise ConfigError(
                f"the {store} store comes from {path}, a Stage I checkpoint of "
                f"{' and '.join(stage.pairs)}, without the {store} encoder"
            )
        head = stage.head(store) if job.stage1_features == "head" else None
        sources[store] = Source(
            encoder=stage.encoders[store], head=head, label=stage.label(store, job.stage1_features)
        )
        log.info("stage1 %s features from %s", store, sources[store].label)
    return sources


def _project(job, manifest, device) -> int:
    """A stage1 job of frozen encoders with linear heads: the heads applied to the frozen set's
    stores (``job.project``), shard by shard."""
    from emibench.data.store import SequenceReader
    from emibench.encoding.media import shard_ids
    from emibench.features.extract import project_shard
    from emibench.stage1.checkpoint import load_stage1

    if (
        job.kind != "stage1"
        or job.stage1_features != "head"
        or set(job.project) != set(job.outputs)
    ):
        raise ConfigError(
            f"--job project: only a stage1 job storing the heads' outputs projects the frozen "
            f"stores of each of its stores; got kind {job.kind!r}, stage1_features "
            f"{job.stage1_features!r}, project {sorted(job.project)} for {sorted(job.outputs)}"
        )
    loaded = {p: load_stage1(p, device, with_encoders=False) for p in set(job.stage1.values())}
    frozen = {store: SequenceReader(folder) for store, folder in job.project.items()}
    heads = {store: loaded[job.stage1[store]].head(store) for store in job.outputs}
    labels = {
        store: loaded[job.stage1[store]].label(
            store, "head", frozen[store].store_attrs()["encoder"]
        )
        for store in job.outputs
    }
    n_clips, present, missing = 0, Counter(), Counter()
    try:
        for k, shard in enumerate(job.shards):
            ids = shard_ids(manifest, job.split, int(shard.shard))
            outputs = {store: out.files[k] for store, out in job.outputs.items()}
            summary = project_shard(ids, frozen, outputs, heads, labels, job.featset)
            n_clips += len(ids)
            present.update(summary.present)
            missing.update(summary.missing)
    finally:
        for reader in frozen.values():
            reader.close()
    return _finish(job, n_clips, present, missing, " projected from the frozen set")


def _finish(job, n_clips: int, present: Counter, missing: Counter, how: str = "") -> int:
    """Each store folder's index, once every shard is written, and the job's summary."""
    from emibench.data.store import write_store_index

    for store, out in job.outputs.items():
        write_store_index(
            out.folder, out.files, featset=job.featset, store=store, split=job.split, clips=n_clips
        )
    log.info(
        "done: %s features of %s%s, %d shards, %d clips; present %s, missing %s",
        job.featset,
        job.split,
        how,
        len(job.shards),
        n_clips,
        dict(present),
        dict(missing),
    )
    return 0


def _features(args: argparse.Namespace) -> int:
    from emibench.data.tables import read_table
    from emibench.devices import resolve_device
    from emibench.encoding.media import MediaReader, read_transcripts, shard_ids
    from emibench.encoding.settings import extract_settings
    from emibench.features.extract import extract_shard
    from emibench.features.sets import FEATURE_SETS, SET_MODALITIES
    from emibench.plan.jobs import FeatureJob, load_job

    job = load_job(FeatureJob, args.job)
    if job.kind not in FEATURE_SETS:
        raise ConfigError(f"--job kind {job.kind!r}: expected one of {FEATURE_SETS}")
    extra = [s for s in job.outputs if s not in SET_MODALITIES[job.kind]]
    if extra or not job.outputs:
        raise ConfigError(
            f"--job outputs {list(job.outputs)}: the {job.kind} set is made of the "
            f"{', '.join(SET_MODALITIES[job.kind])} store(s)"
        )
    for store, out in job.outputs.items():
        if len(out.files) != len(job.shards):
            raise ConfigError(
                f"--job: {len(job.shards)} shards but {len(out.files)} {store} output files"
            )
    device = resolve_device(args.device)
    settings = extract_settings(job.settings)
    manifest = read_table(job.manifest)
    if job.project:
        return _project(job, manifest, device)
    durations = dict(zip(manifest["id"], manifest["duration_s"].astype(float)))
    empty = _stores_without_input(job, manifest, durations)
    stores = [s for s in job.outputs if s not in empty]
    make = _stage1_sources if job.kind == "stage1" else _encoder_sources
    sources = {**make(job, device, stores), **_like_sources(job, empty)}
    n_clips, present, missing = 0, Counter(), Counter()
    for k, shard in enumerate(job.shards):
        ids = shard_ids(manifest, job.split, int(shard.shard))
        audio = [shard.audio] if "audio" in job.outputs else []
        media = MediaReader(frames=[shard.frames], audio=audio, durations=durations)
        transcripts = read_transcripts([shard.transcripts] if "text" in job.outputs else [])
        outputs = {store: out.files[k] for store, out in job.outputs.items()}
        try:
            summary = extract_shard(ids, media, transcripts, outputs, sources, job.kind, settings)
        finally:
            media.close()
        n_clips += len(ids)
        present.update(summary.present)
        missing.update(summary.missing)
    return _finish(job, n_clips, present, missing)

"""A run's data: every store it uses, loaded once into memory, and padded batches of it.

Stores are named by key (``emibench.models.inputs``): ``V``, ``A``, ``T`` are feature stores
(``features/{featset}/{modality}/{split}/{shard}.h5``, float16); ``wave`` (audio stores
``audio/{split}/{shard}.h5``) and ``text`` (transcript tables) are the raw inputs of a model that
encodes audio or text itself, turned into waves and token ids as its ``RawInputs`` say.

Everything is read once per job and kept in memory: the real set's features (17k clips, about 35
visual steps of 768-1024 values per clip and modality) take a few GB; its audio, cut to 12 s and
kept as float16, about 4 GB; token ids little. Batches are built on demand: padded to the
longest clip of the batch, with masks and per-clip presence flags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emibench.data.store import SequenceReader
from emibench.encoders.registry import load_tokenizer
from emibench.encoding.media import MediaReader, read_transcripts, text_of
from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.models.inputs import (
    MODALITIES,
    MODALITY_NAMES,
    RAW_KEYS,
    STORE_KEYS,
    Batch,
    RawInputs,
    Sequence,
    Tokens,
    Waves,
)
from emibench.scaling import near_constant, root_mean_square, safe_scale
from emibench.settings import ConfigError

log = logging.getLogger(__name__)

BUCKET_CHUNK = 20  # batches per chunk sorted by length when bucketing
SPLITS = ("train", "valid", "test")


@dataclass
class ModalityFeatures:
    """One modality's features for every clip of the run.

    arrays:  id -> (T, D) float16, T = 0 for a clip lacking the modality
    cls:     text only: id -> (D,) float16 CLS vector of present clips
    missing: id -> reason, for every clip lacking the modality
    mean, std (D,) and cls_mean, cls_std: train-split statistics for standardising (or None)
    """

    modality: str
    dim: int
    arrays: dict[str, np.ndarray]
    missing: dict[str, str]
    cls: dict[str, np.ndarray] | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    cls_mean: np.ndarray | None = None
    cls_std: np.ndarray | None = None

    def fit_standardizer(self, ids: list[str]) -> None:
        """Per-dimension mean and std over every real step (and CLS vector) of ``ids``; a
        warning in the log when the features barely vary over them."""
        name = MODALITY_NAMES.get(self.modality, self.modality)
        present = [i for i in ids if i not in self.missing]
        self.mean, self.std = _moments([self.arrays[i] for i in present], self.dim, name)
        if self.cls is not None:
            self.cls_mean, self.cls_std = _moments(
                [self.cls[i][None] for i in present], self.dim, f"{name} (CLS)"
            )

    def state(self) -> dict[str, object]:
        """What a saved model needs to standardise new inputs the same way (tensors or None,
        so that ``torch.load(..., weights_only=True)`` reads it)."""
        stats = {
            "mean": self.mean,
            "std": self.std,
            "cls_mean": self.cls_mean,
            "cls_std": self.cls_std,
        }
        return {"dim": self.dim} | {
            k: None if v is None else torch.from_numpy(v) for k, v in stats.items()
        }

    def load_state(self, state: dict[str, object] | None) -> None:
        """Standardise with a saved model's statistics (:meth:`state`); None: not at all."""
        stats = state or {}
        if state is not None and int(state["dim"]) != self.dim:
            raise ValueError(
                f"{MODALITY_NAMES.get(self.modality, self.modality)} features of width {self.dim}; "
                f"the saved model standardises width {state['dim']}"
            )
        for key in ("mean", "std", "cls_mean", "cls_std"):
            value = stats.get(key)
            setattr(self, key, None if value is None else np.asarray(value, np.float32))


def _moments(arrays: list[np.ndarray], dim: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros(dim)
    squares = np.zeros(dim)
    count = 0
    for a in arrays:
        a = a.astype(np.float64)
        total += a.sum(0)
        squares += (a * a).sum(0)
        count += len(a)
    if count == 0:
        return np.zeros(dim, np.float32), np.ones(dim, np.float32)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    rms = root_mean_square(mean, std)
    if near_constant(std, rms):
        log.warning(
            "%s features are (nearly) constant on train (%d clips, median spread %.3g, "
            "magnitude %.3g): standardised with a floor, they carry little signal",
            name,
            len(arrays),
            float(np.median(std)),
            rms,
        )
    return mean.astype(np.float32), safe_scale(std, rms)


def _uniform_steps(length: int, max_steps: int) -> np.ndarray | None:
    """Indices of ``max_steps`` uniformly spread steps, or None when the clip is short enough."""
    if max_steps <= 0 or length <= max_steps:
        return None
    return np.linspace(0, length - 1, max_steps).round().astype(int)


AUDIO_RATES = ("visual", "native")


def load_modality(
    modality: str,
    paths: list[str | Path],
    ids: list[str],
    max_steps: int = 0,
    audio_rate: str = "visual",
) -> ModalityFeatures:
    """Read ``ids`` from the shard files of one modality (every split's shards together).

    Each clip must have an entry (missing ones as ``missing=True`` entries). Clips longer than
    ``max_steps`` (> 0) keep ``max_steps`` uniformly spread steps. Text also loads ``cls``.
    Audio with ``audio_rate="native"`` reads the store's ``raw`` extra (the encoder's ~50 Hz
    frames) instead of ``data`` (pooled onto the visual time base).
    """
    if audio_rate not in AUDIO_RATES:
        raise ConfigError(f"audio_rate {audio_rate!r}: expected one of {AUDIO_RATES}")
    native = modality == "A" and audio_rate == "native"
    if not paths:
        raise ValueError(
            f"no feature store given for modality {modality} ({MODALITY_NAMES[modality]})"
        )
    arrays: dict[str, np.ndarray] = {}
    cls: dict[str, np.ndarray] | None = {} if modality == "T" else None
    missing: dict[str, str] = {}
    dim = None
    origin = Path(paths[0]).parent.parent
    with SequenceReader(paths) as reader:
        declared = reader.store_attrs().get("dim")
        for clip_id in tqdm(
            ids, desc=f"load {MODALITY_NAMES[modality]}", leave=False, mininterval=5
        ):
            if clip_id not in reader:
                raise KeyError(
                    f"clip {clip_id} has no {MODALITY_NAMES[modality]} entry in {[str(p) for p in paths]}"
                )
            where = f"{MODALITY_NAMES[modality]} features of clip {clip_id} (stores under {origin})"
            attrs = reader.attrs(clip_id)
            absent = bool(attrs.get("missing", False))
            data = reader[clip_id]
            if native and not absent:
                try:
                    data = reader.extra(clip_id, "raw")
                except KeyError:
                    raise KeyError(
                        f"{where}: audio_rate 'native' needs the store's 'raw' extra "
                        "(config features.keep_raw_audio: true)"
                    ) from None
            if data.ndim != 2:
                raise ValueError(f"{where}: expected a (T, D) array, got shape {data.shape}")
            if dim is None:
                dim = int(declared) if declared not in (None, "") else data.shape[1]
            if data.shape[1] != dim:
                raise ValueError(f"{where}: width {data.shape[1]}, but the store's is {dim}")
            if absent or len(data) == 0:
                missing[clip_id] = str(attrs.get("reason", "")) or "empty"
                arrays[clip_id] = np.zeros((0, dim), np.float16)
                continue
            if not np.isfinite(data).all():
                raise ValueError(f"{where}: non-finite values")
            keep = _uniform_steps(len(data), max_steps)
            arrays[clip_id] = (data if keep is None else data[keep]).astype(np.float16)
            if cls is not None:
                try:
                    vector = reader.extra(clip_id, "cls")
                except KeyError:
                    raise KeyError(f"{where}: present text without its 'cls' vector") from None
                if vector.shape != (dim,):
                    raise ValueError(f"{where}: 'cls' of shape {vector.shape}, expected ({dim},)")
                cls[clip_id] = vector.astype(np.float16)
    return ModalityFeatures(modality, int(dim or 0), arrays, missing, cls)


@dataclass
class RawAudio:
    """Every clip's audio, for a model that encodes it itself.

    waves:   id -> float16 (N,) samples at ``sample_rate``, the clip's first ``max_audio_s``
             seconds (N = 0 for a clip lacking audio)
    missing: id -> reason, for every clip lacking audio
    """

    waves: dict[str, np.ndarray]
    missing: dict[str, str]
    sample_rate: int

    def length(self, clip_id: str) -> int:
        return len(self.waves[clip_id])


@dataclass
class RawText:
    """Every clip's transcript as token ids, for a model that encodes text itself.

    ids:     id -> int64 (L,) token ids, special tokens included, at most ``max_tokens``; a clip
             without transcript holds the empty string's ids
    missing: id -> reason, for every clip without transcript
    pad_id:  the tokenizer's padding id
    """

    ids: dict[str, np.ndarray]
    missing: dict[str, str]
    pad_id: int

    def length(self, clip_id: str) -> int:
        return len(self.ids[clip_id])


def load_waves(
    paths: list[str | Path], ids: list[str], sample_rate: int, max_audio_s: float
) -> RawAudio:
    """Read ``ids`` from the audio stores (every split's shards), resampled to ``sample_rate``
    where a clip's rate differs, cut to the first ``max_audio_s`` seconds (<= 0: whole clips)."""
    if not paths:
        raise ValueError("no audio store given for the raw audio ('wave')")
    keep = round(max_audio_s * sample_rate) if max_audio_s > 0 else None
    waves: dict[str, np.ndarray] = {}
    missing: dict[str, str] = {}
    media = MediaReader(audio=paths)
    try:
        for clip_id in tqdm(ids, desc="load waves", leave=False, mininterval=5):
            if clip_id not in media.audio:
                raise KeyError(
                    f"clip {clip_id} has no entry in the audio stores {[str(p) for p in paths]}"
                )
            item = media.wave_of(clip_id, sample_rate)
            wave = None if item.value is None else item.value[:keep]
            if wave is None or len(wave) == 0:
                missing[clip_id] = item.reason or "empty audio"
                waves[clip_id] = np.zeros(0, np.float16)
                continue
            if not np.isfinite(wave).all():
                raise ValueError(f"audio of clip {clip_id} (stores {paths[0]} ...): non-finite")
            waves[clip_id] = wave.astype(np.float16)
    finally:
        media.close()
    return RawAudio(waves, missing, int(sample_rate))


def load_tokens(
    paths: list[str | Path], ids: list[str], tokenizer: str, max_tokens: int
) -> RawText:
    """Token ids of every clip's transcript (the tables of every split), with ``tokenizer``."""
    if not paths:
        raise ValueError("no transcript table given for the raw text ('text')")
    table = read_transcripts(paths)
    absent = [i for i in ids if i not in table.index]
    if absent:
        raise KeyError(
            f"{len(absent)} clip(s) have no row in the transcripts {[str(p) for p in paths]}, "
            f"first {absent[:5]}"
        )
    items = [text_of(table, i) for i in ids]
    tok = load_tokenizer(tokenizer, "model.text_encoder")
    texts = [it.value if it.value is not None else "" for it in items]
    encoded = tok(texts, truncation=True, max_length=max_tokens)["input_ids"]
    return RawText(
        {i: np.asarray(e, np.int64) for i, e in zip(ids, encoded)},
        {it.id: it.reason for it in items if it.value is None},
        int(tok.pad_token_id or 0),
    )


class RunData:
    """Every split's clips, labels and inputs of one run, and batches of them.

    ``features`` maps the run's modalities (V, A, T) read from feature stores to their loaded
    features; ``raw`` those read raw (``A``: RawAudio, ``T``: RawText), made as ``raw_inputs``
    says. A modality the run does not use is absent from every batch (None).
    """

    def __init__(
        self,
        manifest: pd.DataFrame,
        features: dict[str, ModalityFeatures],
        test_labels: pd.DataFrame | None = None,
        standardize: bool = True,
        raw: dict[str, RawAudio | RawText] | None = None,
        raw_inputs: RawInputs | None = None,
        splits: tuple[str, ...] = SPLITS,
    ):
        self.features = features
        self.raw = dict(raw or {})
        self.raw_inputs = raw_inputs
        both = sorted(set(features) & set(self.raw))
        if both:
            raise ConfigError(f"modalities {both} given both as features and raw")
        self.ids = {
            split: split_ids(manifest, split) if split in splits else [] for split in SPLITS
        }
        self.labels = {
            split: split_labels(manifest, split, test_labels) if split in splits else None
            for split in self.ids
        }
        self._row = {split: {i: n for n, i in enumerate(ids)} for split, ids in self.ids.items()}
        if standardize:
            for feat in features.values():
                feat.fit_standardizer(self.ids["train"])

    @property
    def dims(self) -> dict[str, int]:
        return {m: f.dim for m, f in self.features.items()}

    @property
    def inputs(self) -> dict[str, ModalityFeatures | RawAudio | RawText]:
        """Every modality of the run, features or raw, in V, A, T order."""
        both = {**self.features, **self.raw}
        return {m: both[m] for m in MODALITIES if m in both}

    def n_missing(self, split: str) -> dict[str, int]:
        """Clips of ``split`` lacking each of the run's modalities."""
        return {m: sum(i in x.missing for i in self.ids[split]) for m, x in self.inputs.items()}

    def all_missing(self, split: str) -> list[str]:
        """Clips of ``split`` lacking every modality of the run."""
        inputs = self.inputs.values()
        return [i for i in self.ids[split] if all(i in x.missing for x in inputs)]

    def length(self, clip_id: str) -> int:
        """What sorting by length sorts on: the audio samples when read raw (the costliest
        input to pad), else the longest feature sequence."""
        if "A" in self.raw:
            return self.raw["A"].length(clip_id)
        return max((len(f.arrays[clip_id]) for f in self.features.values()), default=0)

    def batch(self, split: str, ids: list[str]) -> Batch:
        """The padded batch of ``ids`` (clips of ``split``)."""
        seqs: dict[str, Sequence | None] = {"V": None, "A": None, "T": None}
        text_cls = None
        for m, feat in self.features.items():
            seqs[m] = _pad(feat, ids)
            if m == "T":
                text_cls = _stack_cls(feat, ids)
        wave = _pad_waves(self.raw["A"], ids) if "A" in self.raw else None
        tokens = _pad_tokens(self.raw["T"], ids) if "T" in self.raw else None
        labels = self.labels[split]
        if labels is None:
            target = torch.full((len(ids), 6), float("nan"))
        else:
            rows = [self._row[split][i] for i in ids]
            target = torch.from_numpy(labels[rows].astype(np.float32))
        return Batch(
            ids=list(ids),
            visual=seqs["V"],
            audio=seqs["A"],
            text=seqs["T"],
            text_cls=text_cls,
            labels=target,
            wave=wave,
            tokens=tokens,
        )

    def batches(
        self,
        split: str,
        batch_size: int,
        rng: np.random.Generator | None = None,
        bucket: bool = True,
    ) -> Iterator[Batch]:
        """Batches over ``split``: shuffled with ``rng`` (training) or in length order (inference).

        With ``bucket``, shuffled clips are sorted by length within chunks of BUCKET_CHUNK
        batches, so a batch pads little; the batch order is then shuffled again.
        """
        ids = list(self.ids[split])
        if rng is None:
            ids.sort(key=self.length)
            groups = [ids[k : k + batch_size] for k in range(0, len(ids), batch_size)]
        else:
            ids = [ids[k] for k in rng.permutation(len(ids))]
            if bucket:
                chunk = batch_size * BUCKET_CHUNK
                ids = [
                    i
                    for k in range(0, len(ids), chunk)
                    for i in sorted(ids[k : k + chunk], key=self.length)
                ]
            groups = [ids[k : k + batch_size] for k in range(0, len(ids), batch_size)]
            if bucket:
                groups = [groups[k] for k in rng.permutation(len(groups))]
        for group in groups:
            yield self.batch(split, group)


def _pad(feat: ModalityFeatures, ids: list[str]) -> Sequence:
    arrays = [feat.arrays[i] for i in ids]
    longest = max(1, max(len(a) for a in arrays))
    data = np.zeros((len(ids), longest, feat.dim), np.float32)
    mask = np.zeros((len(ids), longest), bool)
    for b, a in enumerate(arrays):
        if len(a):
            x = a.astype(np.float32)
            data[b, : len(a)] = x if feat.mean is None else (x - feat.mean) / feat.std
            mask[b, : len(a)] = True
    present = np.array([i not in feat.missing for i in ids])
    return Sequence(torch.from_numpy(data), torch.from_numpy(mask), torch.from_numpy(present))


def _pad_waves(audio: RawAudio, ids: list[str]) -> Waves:
    lengths = np.array([audio.length(i) for i in ids])
    data = np.zeros((len(ids), max(1, int(lengths.max()))), np.float32)
    for b, i in enumerate(ids):
        data[b, : lengths[b]] = audio.waves[i]
    present = np.array([i not in audio.missing for i in ids])
    return Waves(torch.from_numpy(data), torch.from_numpy(lengths), torch.from_numpy(present))


def _pad_tokens(text: RawText, ids: list[str]) -> Tokens:
    lengths = [text.length(i) for i in ids]
    out = np.full((len(ids), max(lengths)), text.pad_id, np.int64)
    mask = np.zeros(out.shape, bool)
    for b, i in enumerate(ids):
        out[b, : lengths[b]] = text.ids[i]
        mask[b, : lengths[b]] = True
    present = np.array([i not in text.missing for i in ids])
    return Tokens(torch.from_numpy(out), torch.from_numpy(mask), torch.from_numpy(present))


def _stack_cls(feat: ModalityFeatures, ids: list[str]) -> torch.Tensor:
    out = np.zeros((len(ids), feat.dim), np.float32)
    for b, i in enumerate(ids):
        if i not in feat.missing:
            x = feat.cls[i].astype(np.float32)
            out[b] = x if feat.cls_mean is None else (x - feat.cls_mean) / feat.cls_std
    return torch.from_numpy(out)


def load_run_data(
    manifest_path: str | Path,
    stores: dict[str, list[str | Path]],
    test_labels_path: str | Path | None = None,
    max_steps: int = 0,
    standardize: bool = True,
    audio_rate: str = "visual",
    raw_inputs: RawInputs | Mapping[str, Any] | None = None,
    splits: tuple[str, ...] = SPLITS,
) -> RunData:
    """Read the manifest, the test labels and every store of the run, by key:
    ``{"V": [shard paths], "wave": [audio stores], "text": [transcript tables], ...}``.

    ``raw_inputs`` (the model's, ``models.registry.raw_inputs``) says how ``wave`` and ``text``
    become waves and token ids; a saved run keeps these options in model.pt (``data``), so
    ``load_run_data(manifest, stores, labels, **saved["data"])`` reads new inputs the same way.
    ``splits``: only these splits' clips are read (the others have no clips); standardising fits
    on train, so it needs train among them.
    """
    if isinstance(raw_inputs, Mapping):
        raw_inputs = RawInputs(**raw_inputs)
    unknown = sorted(set(stores) - set(STORE_KEYS))
    if unknown:
        raise ConfigError(f"store key(s) {unknown}: expected some of {list(STORE_KEYS)}")
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    ids = sorted(manifest.loc[manifest["split"].isin(splits), "id"])
    features = {
        m: load_modality(m, paths, ids, max_steps, audio_rate)
        for m, paths in stores.items()
        if m in MODALITIES
    }
    for m, feat in features.items():
        log.info(
            "%s: %d clips, width %d, %d missing",
            MODALITY_NAMES[m],
            len(ids),
            feat.dim,
            len(feat.missing),
        )
    raw: dict[str, RawAudio | RawText] = {}
    if RAW_KEYS["A"] in stores:
        if raw_inputs is None or not raw_inputs.sample_rate:
            raise ConfigError("store key 'wave' (raw audio) given, but the model encodes no audio")
        raw["A"] = load_waves(
            stores[RAW_KEYS["A"]], ids, raw_inputs.sample_rate, raw_inputs.max_audio_s
        )
        log.info(
            "raw audio: %d clips at %d Hz, first %g s, %d missing",
            len(ids),
            raw_inputs.sample_rate,
            raw_inputs.max_audio_s,
            len(raw["A"].missing),
        )
    if RAW_KEYS["T"] in stores:
        if raw_inputs is None or not raw_inputs.tokenizer:
            raise ConfigError("store key 'text' (transcripts) given, but the model encodes no text")
        raw["T"] = load_tokens(
            stores[RAW_KEYS["T"]], ids, raw_inputs.tokenizer, raw_inputs.max_tokens
        )
        log.info(
            "token ids: %d clips (tokenizer %s, at most %d), %d missing",
            len(ids),
            raw_inputs.tokenizer,
            raw_inputs.max_tokens,
            len(raw["T"].missing),
        )
    return RunData(manifest, features, test_labels, standardize, raw, raw_inputs, tuple(splits))

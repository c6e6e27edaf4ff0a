"""A run's data: every feature store it uses, loaded once into memory, and padded batches of it.

The stores (``features/{featset}/{modality}/{split}/{shard}.h5``, float16) are read once per job
and kept as float16 arrays: the real set's features (17k clips, about 35 visual steps of 768-1024
values per clip and modality) take a few GB, which fits a training node's RAM. Batches are built
on demand: padded to the longest clip of the batch, with masks and per-clip presence flags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emibench.data.store import SequenceReader
from emibench.evaluate.labels import read_manifest, read_test_labels, split_ids, split_labels
from emibench.models.inputs import MODALITY_NAMES, Batch, Sequence
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
        """Per-dimension mean and std over every real step (and CLS vector) of ``ids``."""
        self.mean, self.std = _moments(
            [self.arrays[i] for i in ids if i not in self.missing], self.dim
        )
        if self.cls is not None:
            self.cls_mean, self.cls_std = _moments(
                [self.cls[i][None] for i in ids if i not in self.missing], self.dim
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


def _moments(arrays: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
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
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


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


class RunData:
    """Every split's clips, labels and features of one run, and batches of them.

    ``features`` maps the run's modalities (V, A, T) to their loaded features; a modality the run
    does not use is absent from every batch (None).
    """

    def __init__(
        self,
        manifest: pd.DataFrame,
        features: dict[str, ModalityFeatures],
        test_labels: pd.DataFrame | None = None,
        standardize: bool = True,
        splits: tuple[str, ...] = SPLITS,
    ):
        self.features = features
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

    def n_missing(self, split: str) -> dict[str, int]:
        """Clips of ``split`` lacking each of the run's modalities."""
        return {m: sum(i in f.missing for i in self.ids[split]) for m, f in self.features.items()}

    def all_missing(self, split: str) -> list[str]:
        """Clips of ``split`` lacking every modality of the run."""
        return [i for i in self.ids[split] if all(i in f.missing for f in self.features.values())]

    def length(self, clip_id: str) -> int:
        return max((len(f.arrays[clip_id]) for f in self.features.values()), default=0)

    def batch(self, split: str, ids: list[str]) -> Batch:
        """The padded batch of ``ids`` (clips of ``split``)."""
        seqs: dict[str, Sequence | None] = {"V": None, "A": None, "T": None}
        text_cls = None
        for m, feat in self.features.items():
            seqs[m] = _pad(feat, ids)
            if m == "T":
                text_cls = _stack_cls(feat, ids)
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
    splits: tuple[str, ...] = SPLITS,
) -> RunData:
    """Read the manifest, the test labels and each modality's stores (``{"V": [shard paths]}``).

    ``splits``: only these splits' clips are read (the others have no clips); standardising
    fits on train, so it needs train among them.
    """
    manifest = read_manifest(manifest_path)
    test_labels = read_test_labels(test_labels_path, split_ids(manifest, "test"))
    ids = sorted(manifest.loc[manifest["split"].isin(splits), "id"])
    features = {
        m: load_modality(m, paths, ids, max_steps, audio_rate) for m, paths in stores.items()
    }
    for m, feat in features.items():
        log.info(
            "%s: %d clips, width %d, %d missing",
            MODALITY_NAMES[m],
            len(ids),
            feat.dim,
            len(feat.missing),
        )
    return RunData(manifest, features, test_labels, standardize, tuple(splits))

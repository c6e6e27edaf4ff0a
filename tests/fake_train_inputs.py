"""Fake Stage II inputs for the model/train/evaluate tests: a manifest and feature stores.

Each clip has a latent z = (z_V, z_A, z_T); the six labels are a fixed nonlinear function of all
of z, and each modality's features carry only its own part (visual and audio as a burst within
the clip, text in the CLS vector and the tokens), so a model seeing more modalities can do better.
Some clips lack a modality (``missing=True`` entries, as the feature producers write them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emibench.data.store import SequenceWriter
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS, format_id

MODALITY_DIRS = {"V": "visual", "A": "audio", "T": "text"}
DIMS = {"V": 12, "A": 10, "T": 8}
# A DSCMN small enough for a test to train it on the fake inputs in seconds.
DSCMN = {
    "name": "dscmn",
    "d_model": 16,
    "mlp_hidden": 16,
    "tcn_channels": 16,
    "tcn_layers": 2,
    "lstm_hidden": 8,
    "segments": 3,
    "transformer_layers": 1,
    "heads": 2,
    "ff_dim": 32,
}


def write_fake_inputs(
    root: str | Path,
    n: dict[str, int] | None = None,
    dims: dict[str, int] | None = None,
    featsets: tuple[str, ...] = ("stage1",),
    missing_rate: float = 0.1,
    shards: int | dict[str, int] = 2,
    noise: float = 0.5,
    seed: int = 0,
) -> dict:
    """Write ``root/manifest.tsv``, ``root/test_labels.csv`` and stores
    ``root/features/{featset}/{modality}/{split}/{shard:02d}.h5``; return their paths.

    Returns ``{"manifest", "test_labels", "stores": {featset: {"V": [paths], ...}}, "missing":
    {modality: set of ids}}``. The ``official`` featset, when asked for, is noisier.
    """
    root = Path(root)
    if isinstance(shards, int):
        shards = {split: shards for split in ("train", "valid", "test")}
    n = n or {"train": 96, "valid": 48, "test": 32}
    dims = dims or {"V": 12, "A": 10, "T": 8}
    rng = np.random.default_rng(seed)
    ids, splits = [], []
    for split, count in n.items():
        start = len(ids)
        ids += [format_id(start + k) for k in range(count)]
        splits += [split] * count
    z = rng.normal(size=(len(ids), 3, 2))
    mix = rng.normal(size=(6, 6)) / np.sqrt(6)
    labels = 1.0 / (1.0 + np.exp(-(z.reshape(len(ids), 6) @ mix.T) * 1.5))
    lengths = rng.integers(3, 30, size=len(ids))
    missing = {m: {i for i in ids if rng.random() < missing_rate} for m in MODALITY_DIRS}
    missing["A"].add(ids[0])  # clips lacking everything, in train and in test
    for m in MODALITY_DIRS:
        missing[m] |= {ids[0], ids[-1]}

    manifest = pd.DataFrame({"id": ids, "split": splits})
    manifest["shard"] = [k % shards[split] for k, split in enumerate(splits)]
    manifest["status"] = [
        "broken" if i in missing["V"] and i in missing["A"] else "ok" for i in ids
    ]
    manifest["reason"] = ["unreadable" if s == "broken" else "" for s in manifest["status"]]
    for e, emotion in enumerate(EMOTIONS):
        manifest[emotion] = np.where(manifest["split"] == "test", np.nan, labels[:, e].round(4))
    write_table(manifest, root / "manifest.tsv")
    test = manifest["split"] == "test"
    test_labels = pd.DataFrame(labels[test.to_numpy()].round(4), columns=list(EMOTIONS))
    test_labels.insert(0, "Filename", [int(i) for i in manifest.loc[test, "id"]])
    test_labels.to_csv(root / "test_labels.csv", index=False)

    projections = {m: rng.normal(size=(2, dims[m])) for m in MODALITY_DIRS}
    stores: dict[str, dict[str, list[Path]]] = {}
    for featset in featsets:
        scale = noise * (2.0 if featset == "official" else 1.0)
        stores[featset] = {m: [] for m in MODALITY_DIRS}
        for m, name in MODALITY_DIRS.items():
            for split in n:
                for shard in range(shards[split]):
                    path = root / "features" / featset / name / split / f"{shard:02d}.h5"
                    stores[featset][m].append(path)
                    rows = manifest.index[
                        (manifest["split"] == split) & (manifest["shard"] == shard)
                    ]
                    with SequenceWriter(
                        path, kind="features", featset=featset, modality=name, dim=dims[m]
                    ) as w:
                        for k in rows:
                            clip = ids[k]
                            if clip in missing[m]:
                                w.write_missing(
                                    clip, (dims[m],), np.float16, reason="no input", rate_hz=5.0
                                )
                                continue
                            signal = z[k, list(MODALITY_DIRS).index(m)] @ projections[m]
                            length = int(lengths[k]) if m != "T" else 6
                            steps = rng.normal(scale=scale, size=(length, dims[m]))
                            burst = np.zeros(length)
                            burst[length // 3 : max(length // 3 + 1, 2 * length // 3)] = 1.0
                            steps += burst[:, None] * signal * (2.0 if m != "T" else 0.5)
                            extras = {}
                            if m == "T":
                                extras["cls"] = (
                                    signal + rng.normal(scale=scale, size=dims[m])
                                ).astype(np.float16)
                            w.write(clip, steps.astype(np.float16), extras=extras, rate_hz=5.0)
    return {
        "manifest": root / "manifest.tsv",
        "test_labels": root / "test_labels.csv",
        "stores": stores,
        "missing": missing,
    }

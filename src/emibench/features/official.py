"""The organisers' baseline features: ``<root>/vit/{id}.pkl`` (T, 384) and ``<root>/wav2vec2/{id}.pkl``
(T, 768, about 50 frames/s), pickled numpy arrays, one file per clip.

Neither file records its frame rate, so the rate is ``T / duration`` with the clip's probed
duration from the manifest, and row ``i`` is centred at ``(i + 1/2) / rate``. A clip without a
probed duration takes the span of its frames; a clip with neither (a broken video) keeps its
audio rows at Wav2Vec2's nominal 50 rows/s.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

ORGANISER_DIRS = {"visual": "vit", "audio": "wav2vec2"}
# Wav2Vec2's 20 ms hop: where a clip has no probed duration and no frames, organiser audio rows are
# placed at this rate (the ViT files have no such nominal rate).
ORGANISER_RATES_HZ = {"audio": 50.0}
SOURCES = ("organiser", "encoders", "auto")


class OrganiserFeatureError(ValueError):
    """An organiser .pkl file that does not hold a (T, D) numeric array."""


# What a pickled numpy array needs (numpy 1 and 2 module paths); nothing else is imported, so a
# pickle that would call anything on load (os.system, eval, ...) is refused, not run
_ARRAY_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict")}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refused {module}.{name}: organiser features are numpy arrays, lists or a dict of one"
        )


def organiser_path(root: str | Path, modality: str, clip_id: str) -> Path | None:
    """The organiser file of a clip (``00012.pkl``, or ``12.pkl``), or None when neither exists."""
    folder = Path(root) / ORGANISER_DIRS[modality]
    for stem in (clip_id, str(int(clip_id)) if clip_id.isdigit() else clip_id):
        path = folder / f"{stem}.pkl"
        if path.is_file():
            return path
    return None


def read_organiser_features(path: str | Path) -> np.ndarray:
    """A pickled organiser feature file -> float32 (T, D).

    Accepts a 2-D numpy array (or a list of rows), a 1-D array (one row), or a dict holding
    exactly one array. The file is untrusted: it is unpickled with only numpy's array classes
    importable, so a pickle that would run code is refused. Anything else is an error naming the
    file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f).load()
    except Exception as exc:
        raise OrganiserFeatureError(f"{path}: cannot unpickle organiser features ({exc})") from exc
    if isinstance(obj, dict):
        arrays = [v for v in obj.values() if hasattr(v, "shape") or isinstance(v, list)]
        if len(arrays) != 1:
            raise OrganiserFeatureError(
                f"{path}: a dict with keys {list(obj)}; expected exactly one array"
            )
        obj = arrays[0]
    try:
        array = np.asarray(obj, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise OrganiserFeatureError(
            f"{path}: not a numeric array ({type(obj).__name__}: {exc})"
        ) from exc
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise OrganiserFeatureError(f"{path}: expected a (T, D) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise OrganiserFeatureError(f"{path}: holds NaN or infinite values")
    return array


def has_organiser(root: str | Path, modality: str) -> bool:
    """Whether the dataset root has the organiser folder of ``modality`` with any .pkl in it."""
    folder = Path(root) / ORGANISER_DIRS[modality]
    return folder.is_dir() and any(folder.glob("*.pkl"))


def resolve_official_source(setting: str, root: str | Path, modality: str) -> str:
    """``organiser`` or ``encoders`` for one modality of the official feature set.

    ``auto`` takes the organiser features when the root has their folder, per modality.
    ``organiser`` without the folder is an error.
    """
    if setting not in SOURCES:
        raise ValueError(f"features.official_source {setting!r}: expected one of {SOURCES}")
    if setting == "encoders":
        return "encoders"
    present = has_organiser(root, modality)
    if setting == "organiser" and not present:
        raise FileNotFoundError(
            f"features.official_source is 'organiser' but {Path(root) / ORGANISER_DIRS[modality]} holds no .pkl "
            "files; set it to 'auto' or 'encoders' to compute the baseline features with the frozen encoders"
        )
    return "organiser" if present else "encoders"

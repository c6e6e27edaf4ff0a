"""Sequence stores: one HDF5 file per shard holding a variable-length array per clip id.

Layout of a store file::

    /<clip id>/data      (T, ...) array; T may be 0 for a missing modality
    /<clip id>/<name>    optional extra arrays of the clip (e.g. ``cls``, ``face_found``)
    /<clip id>.attrs     per-clip metadata: ``missing`` (bool), ``reason`` (str), anything else
    /.attrs              store-level metadata (``kind``, ``rate_hz``, encoder names, ...)

Every clip of a shard has an entry, missing ones included (``missing=True`` and the reason), so a
reader never has to guess why a clip is absent. Readers open lazily and read one clip at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np

DATA = "data"
# a store folder (one file per shard, written by one job) lists its files here, written last
INDEX = "index.json"


def _attr_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)) and not isinstance(value, np.ndarray):
        import json

        return json.dumps(value)
    return value


class SequenceWriter:
    """Write clips into one store file; use as a context manager.

    The file is written to ``<path>.partial`` and renamed on a clean close, so an interrupted job
    never leaves a complete-looking store behind.
    """

    def __init__(self, path: str | Path, compression: str | None = "lzf", **store_attrs: Any):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._file = h5py.File(self._tmp, "w")
        self.compression = compression
        for key, value in store_attrs.items():
            self._file.attrs[key] = _attr_value(value)

    def write(
        self,
        clip_id: str,
        data: np.ndarray,
        extras: Mapping[str, np.ndarray] | None = None,
        **attrs: Any,
    ) -> None:
        """Store ``data`` (T, ...) for ``clip_id`` with optional extra arrays and attributes."""
        if clip_id in self._file:
            raise KeyError(f"{self.path}: clip {clip_id} written twice")
        group = self._file.create_group(clip_id)
        self._dataset(group, DATA, np.asarray(data))
        for name, array in (extras or {}).items():
            self._dataset(group, name, np.asarray(array))
        group.attrs["missing"] = bool(attrs.pop("missing", False))
        group.attrs["reason"] = str(attrs.pop("reason", "") or "")
        for key, value in attrs.items():
            group.attrs[key] = _attr_value(value)

    def write_missing(
        self, clip_id: str, shape_tail: tuple[int, ...], dtype: Any, reason: str, **attrs: Any
    ) -> None:
        """Store an empty (0, ...) entry for a clip whose modality is missing, with the reason."""
        self.write(
            clip_id, np.zeros((0, *shape_tail), dtype=dtype), missing=True, reason=reason, **attrs
        )

    def _dataset(self, group: h5py.Group, name: str, array: np.ndarray) -> None:
        chunked = self.compression if array.ndim > 0 and array.size > 0 else None
        group.create_dataset(name, data=array, compression=chunked)

    def close(self, ok: bool = True) -> None:
        self._file.close()
        if ok:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


def write_store_index(folder: str | Path, files: Iterable[str | Path], **info: Any) -> Path:
    """Record a store folder's shard files (``INDEX``), once every file is written."""
    import json

    folder = Path(folder)
    names = []
    for file in files:
        file = Path(file)
        if file.parent.resolve() != folder.resolve():
            raise ValueError(f"{file}: not a file of the store folder {folder}")
        if not file.is_file():
            raise FileNotFoundError(f"{file}: listed in {folder / INDEX} but not written")
        names.append(file.name)
    path = folder / INDEX
    path.write_text(json.dumps({"files": names, **info}, indent=1) + "\n")
    return path


def store_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Store files of ``paths``: a file stands for itself, a store folder for the files its
    ``INDEX`` lists (a folder without one was not finished by its job)."""
    import json

    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for path in map(Path, paths):
        if not path.is_dir():
            out.append(path)
            continue
        index = path / INDEX
        if not index.is_file():
            raise FileNotFoundError(
                f"store folder {path} has no {INDEX}: its job did not finish; rerun it"
            )
        names = json.loads(index.read_text()).get("files")
        if not isinstance(names, list) or not all(_plain_name(n) for n in names):
            raise ValueError(f"{index}: 'files' must list file names inside the folder")
        out += [path / name for name in names]
    return out


def _plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name


class SequenceReader:
    """Random access by clip id over one or more store files (e.g. every shard of a split)."""

    def __init__(self, paths: str | Path | Iterable[str | Path]):
        self.paths = store_files(paths)
        self._files: dict[Path, h5py.File] = {}
        self._where: dict[str, Path] = {}
        for path in self.paths:
            if not path.exists():
                raise FileNotFoundError(f"sequence store not found: {path}")
            with h5py.File(path, "r") as f:
                for clip_id in f:
                    if clip_id in self._where:
                        raise KeyError(
                            f"clip {clip_id} is in both {self._where[clip_id]} and {path}"
                        )
                    self._where[clip_id] = path

    def _file(self, clip_id: str) -> h5py.File:
        try:
            path = self._where[clip_id]
        except KeyError:
            raise KeyError(f"clip {clip_id} is in none of {[str(p) for p in self.paths]}") from None
        if path not in self._files:
            self._files[path] = h5py.File(path, "r")
        return self._files[path]

    def ids(self) -> list[str]:
        return sorted(self._where)

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def __getitem__(self, clip_id: str) -> np.ndarray:
        return self._file(clip_id)[clip_id][DATA][()]

    def extra(self, clip_id: str, name: str) -> np.ndarray:
        return self._file(clip_id)[clip_id][name][()]

    def extras(self, clip_id: str) -> list[str]:
        """The names of a clip's arrays besides ``data``."""
        return sorted(name for name in self._file(clip_id)[clip_id] if name != DATA)

    def attrs(self, clip_id: str) -> dict[str, Any]:
        return dict(self._file(clip_id)[clip_id].attrs)

    def is_missing(self, clip_id: str) -> bool:
        return bool(self._file(clip_id)[clip_id].attrs.get("missing", False))

    def steps(self, clip_id: str) -> int:
        """Length of the clip's ``data`` along its first axis, without reading it."""
        return int(self._file(clip_id)[clip_id][DATA].shape[0])

    def store_attrs(self) -> dict[str, Any]:
        with h5py.File(self.paths[0], "r") as f:
            return dict(f.attrs)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Torch files that hold tensors and plain types only, so that loading one runs no code.

``torch.load(..., weights_only=True)`` unpickles tensors, dicts, lists, tuples, str, int, float,
bool and None, and refuses anything else (the way a crafted checkpoint's ``__reduce__`` would run
code). :func:`plain` turns what the code saves (numpy scalars and arrays, dataclasses, paths) into
those types before ``torch.save``; :func:`load_plain` is the one loader of the files the code
writes (Stage I checkpoints, a run's ``model.pt``), and names the file when it refuses one.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

PLAIN = (torch.Tensor, str, int, float, bool, type(None))


class UnsafeFileError(ValueError):
    """A torch file that holds more than tensors and plain types (names the file)."""


def plain(obj: Any, where: str = "") -> Any:
    """``obj`` with numpy scalars as Python numbers, numpy arrays as tensors, dataclasses as
    dicts and paths as strings, recursively through dicts, lists and tuples.

    Raises:
        TypeError: a value of any other type; the message names its key path (``where``).
    """
    if isinstance(obj, PLAIN):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {
            plain(k, where): plain(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return type(obj)(plain(v, f"{where}[{i}]") for i, v in enumerate(obj))
    raise TypeError(f"{where or 'value'}: cannot save {type(obj).__name__} as a plain type")


def load_plain(path: str | Path) -> Any:
    """Load a torch file of tensors and plain types onto the CPU, running no code from it.

    Raises:
        FileNotFoundError: no such file.
        UnsafeFileError: the file holds other objects (a crafted or foreign pickle); it is not
            loaded, and the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()
        detail = next(
            (line for line in reason if "Unsupported" in line), reason[0] if reason else ""
        )
        raise UnsafeFileError(
            f"{path}: refused: it holds objects other than tensors and plain types, which could "
            f"run code when loaded; emibench loads only the files it writes ({detail.strip()})"
        ) from None

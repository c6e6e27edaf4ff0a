"""Reading and validating the dataset's label CSVs (``{split}_split.csv``, ``test_labels.csv``).

Header: ``Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy`` exactly (a
test split may hold ``Filename`` alone: labels hidden). ``Filename`` is a non-negative integer id;
values are numbers in [0, 1]. The file is UTF-8 text (a BOM is tolerated). Every problem raises
:class:`LabelError` naming the file, the line (1-based, the header is line 1) and the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.emotions import EMOTIONS, format_id

ID_COLUMN = "Filename"
HEADER = [ID_COLUMN, *EMOTIONS]


class LabelError(ValueError):
    """A label file breaks the dataset's format; the message names file, line and column."""


def _fail(path: Path, line: int | None, column: str | None, message: str) -> LabelError:
    where = str(path)
    if line is not None:
        where += f", line {line}"
    if column is not None:
        where += f", column {column!r}"
    return LabelError(f"{where}: {message}")


def _parse_id(path: Path, line: int, text: str) -> str:
    value = text.strip()
    if not value.isdigit():  # digits only: no sign, no decimal point, no exponent
        raise _fail(path, line, ID_COLUMN, f"id {text!r} is not a non-negative integer")
    return format_id(int(value))


def _parse_value(path: Path, line: int, column: str, text: str) -> float:
    if not text.strip():
        raise _fail(path, line, column, "value is missing (empty)")
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, line, column, f"value {text!r} is not a number") from None
    if math.isnan(value):
        raise _fail(path, line, column, "value is missing (NaN)")
    if not 0.0 <= value <= 1.0:
        raise _fail(path, line, column, f"value {value:g} lies outside [0, 1]")
    return value


def read_label_text(path: Path) -> str:
    """The text of a label file, decoded as UTF-8 (a leading BOM dropped).

    Raises:
        LabelError: a byte that is not UTF-8, or a NUL character (UTF-16 text without a BOM
            decodes as UTF-8 with a NUL after each ASCII letter); names the file and the line.
    """
    data = path.read_bytes()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    hint = "; it looks like UTF-16: save it as UTF-8" if utf16 or b"\0" in data else ""
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = start + exc.start
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        raise _fail(
            path,
            line,
            None,
            f"not UTF-8 text: byte 0x{data[at]:02x} at byte {column} of the line{hint}",
        ) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise _fail(path, line, None, f"not UTF-8 text: a NUL character{hint}")
    return text


def read_split_csv(path: str | Path, labels_required: bool = True) -> pd.DataFrame:
    """Read and validate one label file.

    Args:
        path: the CSV.
        labels_required: when False, a file with the ``Filename`` column alone is accepted (test
            split with hidden labels); a file with the full header is validated either way.

    Returns:
        A frame with column ``id`` (5-digit strings, file order) and the six EMOTIONS columns
        (float; NaN throughout when the file holds no labels).

    Raises:
        LabelError: not UTF-8, bad header, id, value, NaN, duplicate id or row length; the
            message names the file, the line and the column.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"label file not found: {path}")
    ids: list[str] = []
    values: list[list[float]] = []
    seen: dict[str, int] = {}
    with io.StringIO(read_label_text(path), newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise _fail(path, 1, None, "empty file: expected the header " + ",".join(HEADER))
        header = [h.strip() for h in header]
        has_labels = header != [ID_COLUMN]
        if has_labels and header != HEADER:
            raise _fail(path, 1, _first_bad_column(header), f"header {header} is not {HEADER}")
        if not has_labels and labels_required:
            raise _fail(path, 1, None, f"labels are required but the header is only {header}")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise _fail(path, line, None, f"{len(row)} fields, expected {len(header)}")
            clip_id = _parse_id(path, line, row[0])
            if clip_id in seen:
                raise _fail(
                    path, line, ID_COLUMN, f"duplicate id {clip_id} (first on line {seen[clip_id]})"
                )
            seen[clip_id] = line
            ids.append(clip_id)
            if has_labels:
                values.append(
                    [_parse_value(path, line, col, text) for col, text in zip(EMOTIONS, row[1:])]
                )
    data = (
        np.array(values, dtype=float) if has_labels else np.full((len(ids), len(EMOTIONS)), np.nan)
    )
    frame = pd.DataFrame(data.reshape(len(ids), len(EMOTIONS)), columns=list(EMOTIONS))
    frame.insert(0, "id", pd.Series(ids, dtype=object))
    return frame


def _first_bad_column(header: list[str]) -> str | None:
    for i, expected in enumerate(HEADER):
        if i >= len(header) or header[i] != expected:
            return header[i] if i < len(header) else expected
    return header[len(HEADER)] if len(header) > len(HEADER) else None

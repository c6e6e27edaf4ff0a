"""Reading and writing the project's tables (TSV/CSV) with clip ids kept as 5-digit strings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _sep(path: Path) -> str:
    return "\t" if path.suffix == ".tsv" else ","


def read_table(path: str | Path) -> pd.DataFrame:
    """A .tsv or .csv table; an ``id`` column stays a string (``"00012"``, not 12)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"table not found: {path}")
    return pd.read_csv(path, sep=_sep(path), dtype={"id": str})


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as .tsv or .csv (by suffix), creating the folder, without the index."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=_sep(path), index=False)

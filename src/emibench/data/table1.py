"""Table 1 of the paper: per split total duration (hh:mm:ss) and number of samples, and the total.

Built from the manifest: samples are the clips listed in each split's CSV (broken ones included, as
the paper counts the CSV rows); duration is the sum of the probed durations (a clip whose container
cannot be read at all adds nothing; the Markdown says how many).
"""

from __future__ import annotations

import math

import pandas as pd

from emibench.emotions import SPLITS

# The paper's Table 1 (Hume-Vidmimic2): split -> (duration hh:mm:ss, samples).
PAPER_TABLE1: dict[str, tuple[str, int]] = {
    "train": ("15:07:03", 8072),
    "valid": ("9:12:02", 4588),
    "test": ("9:04:05", 4586),
    "total": ("33:23:10", 17246),
}


def hms(seconds: float) -> str:
    """Seconds as ``h:mm:ss`` (hours unbounded, rounded to the second): 54423 -> ``15:07:03``."""
    total = round(seconds) if math.isfinite(seconds) else 0
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def build_table1(manifest: pd.DataFrame, paper_reference: bool = False) -> pd.DataFrame:
    """Rows train, valid, test, total; columns split, duration, duration_s, samples, unreadable
    (and paper_duration, paper_samples with ``paper_reference``)."""
    rows = []
    for split in (*SPLITS, "total"):
        part = manifest if split == "total" else manifest[manifest["split"] == split]
        seconds = float(pd.to_numeric(part["duration_s"], errors="coerce").fillna(0).sum())
        row = {
            "split": split,
            "duration": hms(seconds),
            "duration_s": round(seconds, 3),
            "samples": len(part),
            "unreadable": int(pd.to_numeric(part["duration_s"], errors="coerce").isna().sum()),
        }
        if paper_reference:
            row["paper_duration"], row["paper_samples"] = PAPER_TABLE1[split]
        rows.append(row)
    return pd.DataFrame(rows)


def table1_markdown(table: pd.DataFrame, dataset: str) -> str:
    """The table as Markdown, with the paper's numbers beside ours when present."""
    paper = "paper_duration" in table.columns
    head = ["Partition", "Duration", "Samples"] + (
        ["Paper duration", "Paper samples"] if paper else []
    )
    lines = [
        f"# Table 1: partitions of {dataset}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for row in table.itertuples(index=False):
        name = "**Total**" if row.split == "total" else row.split.capitalize()
        cells = [name, row.duration, f"{row.samples:,}"]
        if paper:
            cells += [row.paper_duration, f"{row.paper_samples:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    unreadable = int(table.loc[table["split"] == "total", "unreadable"].iloc[0])
    lines += [
        "",
        (
            "Duration: sum of the probed clip durations (h:mm:ss). Samples: clips listed in the split "
            "CSVs, broken ones included."
        ),
    ]
    if unreadable:
        lines.append(f"{unreadable} clip(s) could not be probed and add no duration.")
    if paper:
        lines.append("Paper: Table 1 of the DSCMN paper (Hume-Vidmimic2).")
    return "\n".join(lines) + "\n"

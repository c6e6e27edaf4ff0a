"""A Markdown report of the dataset as the manifest sees it: what is there and what is odd."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from emibench.emotions import EMOTIONS, SPLITS

USUAL_FPS = (24.0, 25.0, 30.0)
SHORT_S, LONG_S = 0.2, 120.0
MAX_LISTED = 30
# one transcript shared by more than this share of the train clips marks the set as near-constant
CONSTANT_SHARE = 0.5


def _ids(frame: pd.DataFrame, extra: str | None = None) -> list[str]:
    lines = []
    for row in frame.head(MAX_LISTED).itertuples(index=False):
        detail = f": {getattr(row, extra)}" if extra else ""
        lines.append(f"- `{row.id}` ({row.split}){detail}")
    if len(frame) > MAX_LISTED:
        lines.append(f"- ... and {len(frame) - MAX_LISTED} more")
    return lines or ["none"]


def _section(title: str, frame: pd.DataFrame, extra: str | None = None) -> list[str]:
    return [f"## {title} ({len(frame)})", "", *_ids(frame, extra), ""]


def transcripts_section(transcripts: Mapping[str, pd.DataFrame], ids: list[str]) -> list[str]:
    """How much the train transcripts of each set vary: a text modality that is (nearly) the
    same for every clip (an ASR answering each clip with one phrase) carries no signal."""
    lines = [
        "## Train transcripts",
        "",
        "| set | clips with text | distinct | most common (clips) | note |",
        "|---|---:|---:|---|---|",
    ]
    for name, table in transcripts.items():
        text = table.loc[table["id"].astype(str).isin(ids), "text"].fillna("").astype(str)
        text = text[text.str.strip() != ""]
        counts = text.value_counts()
        distinct = len(counts)
        top = f"{counts.index[0][:60]!r} ({counts.iloc[0]})" if distinct else ""
        note = ""
        if len(text) > 1 and (distinct == 1 or counts.iloc[0] > CONSTANT_SHARE * len(text)):
            note = (
                f"nearly constant: text: {distinct} distinct transcript"
                f"{'' if distinct == 1 else 's'} among {len(text)} train clips"
            )
        lines.append(f"| {name} | {len(text)} | {distinct} | {top} | {note} |")
    return [*lines, ""]


def data_report(
    manifest: pd.DataFrame, dataset: str, transcripts: Mapping[str, pd.DataFrame] | None = None
) -> str:
    """The report's Markdown text; ``transcripts``: each transcript set's train table."""
    m = manifest.copy()
    m["duration_s"] = pd.to_numeric(m["duration_s"], errors="coerce")
    m["fps"] = pd.to_numeric(m["fps"], errors="coerce")
    has_audio = m["has_audio"].astype(str).str.lower().isin(["true", "1"])
    lines = [f"# Dataset report: {dataset}", "", "## Clips per split", ""]
    lines += [
        "| split | clips | ok | broken | with audio | audio file | labelled |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for split in (*SPLITS, "total"):
        part = m if split == "total" else m[m["split"] == split]
        labelled = int(part[list(EMOTIONS)].notna().all(axis=1).sum())
        lines.append(
            f"| {split} | {len(part)} | {int((part['status'] == 'ok').sum())} | "
            f"{int((part['status'] == 'broken').sum())} | {int(has_audio[part.index].sum())} | "
            f"{int((part['audio_source'] == 'file').sum())} | {labelled} |"
        )
    lines.append("")
    lines += _section("Broken clips", m[m["status"] == "broken"], "reason")
    no_audio = m[~has_audio].copy()
    no_audio["why"] = np.where(
        no_audio["status"] == "broken", "video unreadable", "no audio stream or file"
    )
    lines += _section("Clips without audio", no_audio, "why")
    portrait = m[m["height"] > m["width"]].copy()
    portrait["size"] = portrait["width"].astype(str) + "x" + portrait["height"].astype(str)
    lines += _section("Portrait clips", portrait, "size")
    odd = m[m["fps"].notna() & ~m["fps"].round(3).isin(USUAL_FPS)].copy()
    odd["rate"] = odd["fps"].map(lambda f: f"{f:.3f} fps")
    lines += _section("Frame rates other than 24/25/30", odd, "rate")
    short = m[m["duration_s"] < SHORT_S].copy()
    short["length"] = short["duration_s"].map(lambda d: f"{d:.3f} s")
    lines += _section(f"Clips under {SHORT_S} s", short, "length")
    long = m[m["duration_s"] > LONG_S].copy()
    long["length"] = long["duration_s"].map(lambda d: f"{d:.1f} s")
    lines += _section(f"Clips over {LONG_S:.0f} s", long, "length")
    lines += [
        "## Durations (s)",
        "",
        "| split | mean | median | p95 | min | max | total |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for split in (*SPLITS, "total"):
        d = (m if split == "total" else m[m["split"] == split])["duration_s"].dropna()
        if d.empty:
            lines.append(f"| {split} | | | | | | |")
            continue
        lines.append(
            f"| {split} | {d.mean():.2f} | {d.median():.2f} | {d.quantile(0.95):.2f} | "
            f"{d.min():.2f} | {d.max():.2f} | {d.sum():.0f} |"
        )
    sized = m[m["width"] > 0]
    sizes = (sized["width"].astype(str) + "x" + sized["height"].astype(str)).value_counts().head(5)
    lines += ["", "## Frame sizes (most common)", ""]
    lines += [f"- {size}: {count}" for size, count in sizes.items()]
    if transcripts:
        train = m.loc[m["split"] == "train", "id"].astype(str).tolist()
        lines += ["", *transcripts_section(transcripts, train)]
    return "\n".join(lines) + "\n"

"""A Markdown report of the dataset as the manifest sees it: what is there and what is odd.

Besides the media (broken clips, clips without audio, odd sizes, rates and lengths) it lists the
degenerate cases that leave a modality without signal: per split, a modality missing for most
clips; per transcript set and split, clips without speech and texts that are (nearly) constant or
shared by most clips; and, where the dataset root has them, organiser features that are constant
across clips or within most clips.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from emibench.asr.settings import DEFAULT_SET
from emibench.emotions import EMOTIONS, SPLITS
from emibench.features.official import (
    ORGANISER_DIRS,
    OrganiserFeatureError,
    organiser_path,
    read_organiser_features,
)

USUAL_FPS = (24.0, 25.0, 30.0)
SHORT_S, LONG_S = 0.2, 120.0
MAX_LISTED = 30
MAX_EXAMPLES = 5  # clips without speech named per transcript set and split
# one transcript shared by more than this share of a split's clips with text marks it as
# near-constant; so does one feature row repeated in more than this share of the read clips
CONSTANT_SHARE = 0.5
# more than this share of the clips with text sharing their text with another clip: duplicated
DUPLICATE_SHARE = 0.5
# a modality (or organiser file) absent from more than this share of a split's clips is noted
MISSING_SHARE = 0.5
MAX_READ = 200  # organiser feature files read per split and folder
FEATURE_TOL = 1e-6  # spread (relative to the largest magnitude, at least 1) that counts as none


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


def _cell(text: str) -> str:
    """A transcript shortened and quoted for a Markdown table cell."""
    return repr(text[:60]).replace("|", "\\|")


def _split_ids(manifest: pd.DataFrame, split: str) -> list[str]:
    return manifest.loc[manifest["split"] == split, "id"].astype(str).tolist()


def _indexed(table: pd.DataFrame) -> pd.DataFrame:
    """A transcript table indexed by clip id (as read_transcripts gives it, or with an id column)."""
    if "id" in table.columns:
        table = table.set_index("id")
    table = table.copy()
    table.index = table.index.astype(str)
    return table[~table.index.duplicated()]


def _texts(table: pd.DataFrame, ids: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    """The non-empty texts of the clips ``ids`` (id -> stripped text), and the clips without
    speech with ``why`` (the ASR status, else "empty text" or "no transcript row") and
    ``detail`` (why, with the reason where the table gives one)."""
    table = _indexed(table)
    rows = table.reindex(ids)
    text = rows["text"].fillna("").astype(str).str.strip()
    silent = rows[text == ""].copy()
    status = silent.get("status", pd.Series("", index=silent.index)).fillna("").astype(str)
    reason = silent.get("reason", pd.Series("", index=silent.index)).fillna("").astype(str)
    listed = silent.index.isin(table.index)
    why = np.where(
        (status != "") & (status != "ok"),
        status,
        np.where(listed, "empty text", "no transcript row"),
    )
    silent = pd.DataFrame({"why": why}, index=silent.index)
    silent["detail"] = [
        f"{w}: {r[:80]}" if r.strip() else w for w, r in zip(silent["why"], reason, strict=True)
    ]
    return text[text != ""], silent


def transcripts_section(
    transcripts: Mapping[str, Mapping[str, pd.DataFrame]], manifest: pd.DataFrame
) -> list[str]:
    """How the transcripts of each set vary, per split: a text modality that is (nearly) the same
    for every clip (an ASR answering each clip with one phrase), or shared by most clips, carries
    no signal; clips without speech carry none either."""
    lines = [
        "## Transcripts",
        "",
        (
            "Per transcript set and split: clips with a non-empty text, clips without speech (why: "
            "the ASR status, an empty text, no row), distinct texts, the most common text, and the "
            "clips whose text another clip of the split has too."
        ),
        "",
        (
            "| set | split | clips | with text | without speech | distinct | most common (clips) "
            "| shared text | note |"
        ),
        "|---|---|---:|---:|---|---:|---|---|---|",
    ]
    examples = []
    for name, splits in transcripts.items():
        for split in SPLITS:
            if split not in splits:
                continue
            ids = _split_ids(manifest, split)
            text, silent = _texts(splits[split], ids)
            counts = text.value_counts()
            distinct = len(counts)
            top = f"{_cell(counts.index[0])} ({counts.iloc[0]})" if distinct else ""
            shared = counts[counts > 1]
            shared_clips = int(shared.sum())
            shared_cell = (
                f"{shared_clips} clips share {len(shared)} text{'' if len(shared) == 1 else 's'}"
                if shared_clips
                else "0"
            )
            whys = silent["why"].value_counts()
            silent_cell = str(len(silent))
            if len(silent):
                silent_cell += " (" + ", ".join(f"{w} {n}" for w, n in whys.items()) + ")"
                shown = [f"`{i}` ({d})" for i, d in silent["detail"].head(MAX_EXAMPLES).items()]
                more = (
                    f", and {len(silent) - MAX_EXAMPLES} more" if len(silent) > MAX_EXAMPLES else ""
                )
                examples.append(f"- {name}, {split}: {', '.join(shown)}{more}")
            notes = []
            if len(text) > 1 and counts.iloc[0] > CONSTANT_SHARE * len(text):
                notes.append(
                    f"nearly constant: text: {distinct} distinct transcript"
                    f"{'' if distinct == 1 else 's'} among {len(text)} {split} clips"
                )
            elif len(text) > 1 and shared_clips > DUPLICATE_SHARE * len(text):
                notes.append(
                    f"mostly duplicated: {shared_clips} of {len(text)} {split} clips share "
                    "their text with another clip"
                )
            if ids and len(silent) > MISSING_SHARE * len(ids):
                notes.append(f"no speech in {len(silent)} of {len(ids)} {split} clips")
            lines.append(
                f"| {name} | {split} | {len(ids)} | {len(text)} | {silent_cell} | {distinct} | "
                f"{top} | {shared_cell} | {'; '.join(notes)} |"
            )
    lines.append("")
    if examples:
        lines += [f"Clips without speech (at most {MAX_EXAMPLES} per set and split):", ""]
        lines += [*examples, ""]
    return lines


def _text_set(transcripts: Mapping[str, Mapping[str, pd.DataFrame]] | None) -> str | None:
    """The transcript set the modality table counts text with: the default set, else the first."""
    if not transcripts:
        return None
    return DEFAULT_SET if DEFAULT_SET in transcripts else next(iter(transcripts))


def modalities_section(
    manifest: pd.DataFrame,
    has_audio: pd.Series,
    transcripts: Mapping[str, Mapping[str, pd.DataFrame]] | None,
) -> list[str]:
    """Per split, the clips that have each modality: visual (video decoded), audio (a soundtrack
    or audio file), text (a non-empty transcript); a note where one is missing for most clips."""
    tset = _text_set(transcripts)
    text_head = f"text ({tset})" if tset else "text (no transcripts given)"
    lines = [
        "## Modalities per split",
        "",
        f"| split | clips | visual | audio | {text_head} | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for split in SPLITS:
        part = manifest[manifest["split"] == split]
        ids = part["id"].astype(str).tolist()
        have = {
            "visual": int((part["status"] == "ok").sum()),
            "audio": int(has_audio[part.index].sum()),
        }
        if tset and split in transcripts[tset]:
            have["text"] = len(_texts(transcripts[tset][split], ids)[0])
        notes = [
            f"{modality} missing for {len(ids) - n} of {len(ids)} {split} clips"
            for modality, n in have.items()
            if ids and len(ids) - n > MISSING_SHARE * len(ids)
        ]
        lines.append(
            f"| {split} | {len(ids)} | {have['visual']} | {have['audio']} | "
            f"{have.get('text', '')} | {'; '.join(notes)} |"
        )
    return [*lines, ""]


def _evenly(ids: list[str], most: int) -> list[str]:
    """At most ``most`` of ``ids``, evenly spaced and always the same ones."""
    if len(ids) <= most:
        return list(ids)
    picks = np.unique(np.linspace(0, len(ids) - 1, most).round().astype(int))
    return [ids[i] for i in picks]


def _tolerance(scale: float) -> float:
    return FEATURE_TOL * max(1.0, scale)


def _feature_row(
    root: Path, modality: str, split: str, ids: list[str], unreadable: list[str]
) -> str:
    """One row of the organiser features table (see :func:`organiser_section`)."""
    folder = ORGANISER_DIRS[modality]
    files = {i: organiser_path(root, modality, i) for i in ids}
    with_file = [i for i in ids if files[i] is not None]
    sample = _evenly(with_file, MAX_READ)
    means: dict[int, list[np.ndarray]] = {}
    lows: dict[int, np.ndarray] = {}
    highs: dict[int, np.ndarray] = {}
    scale = 0.0
    multi_row = flat = 0
    for clip_id in sample:
        path = files[clip_id]
        try:
            array = read_organiser_features(path)  # float32; a long clip can be 100s of MB
            if not array.size:
                raise OrganiserFeatureError(f"{path}: no rows (shape {array.shape})")
        except (OrganiserFeatureError, OSError) as exc:
            why = str(exc).removeprefix(f"{path}: ")
            unreadable.append(f"- `{folder}/{path.name}` ({split}): {why[:200]}")
            continue
        width = array.shape[1]
        low, high = array.min(axis=0).astype(np.float64), array.max(axis=0).astype(np.float64)
        clip_scale = float(np.abs(array).max())
        scale = max(scale, clip_scale)
        if len(array) > 1:
            multi_row += 1
            flat += bool(np.all(high - low <= _tolerance(clip_scale)))
        means.setdefault(width, []).append(array.mean(axis=0, dtype=np.float64))
        lows[width] = np.minimum(lows[width], low) if width in lows else low
        highs[width] = np.maximum(highs[width], high) if width in highs else high
    read = sum(len(v) for v in means.values())
    failed = len(sample) - read
    read_cell = f"{read}" + (f" ({failed} unreadable)" if failed else "")
    notes = []
    if ids and len(ids) - len(with_file) > MISSING_SHARE * len(ids):
        notes.append(
            f"{folder} missing for {len(ids) - len(with_file)} of {len(ids)} {split} clips"
        )
    width_cell = constant_cell = flat_cell = ""
    if read:
        width = max(means, key=lambda w: len(means[w]))
        width_cell = str(width)
        if len(means) > 1:
            notes.append(
                "widths differ: "
                + ", ".join(f"{w} ({len(v)} files)" for w, v in sorted(means.items()))
            )
        tol = _tolerance(scale)
        constant = int(np.sum(highs[width] - lows[width] <= tol))
        constant_cell = f"{constant} of {width}"
        clips = len(means[width])
        flat_cell = f"{flat} of {multi_row}" if multi_row else ""
        if clips > 1 and constant == width:
            notes.append(f"constant across clips: every feature the same in the {clips} read clips")
        elif clips > 1 and np.all(np.ptp(np.stack(means[width]), axis=0) <= tol):
            notes.append(f"constant across clips: the {clips} read clips share one mean vector")
        if multi_row and flat > CONSTANT_SHARE * multi_row:
            notes.append(f"constant within {flat} of {multi_row} read clips")
    return (
        f"| {split} | {folder} | {len(ids)} | {len(with_file)} | {read_cell} | {width_cell} | "
        f"{constant_cell} | {flat_cell} | {'; '.join(notes)} |"
    )


def organiser_section(manifest: pd.DataFrame, root: str | Path) -> list[str]:
    """The organisers' feature files (``vit/``, ``wav2vec2/`` under the dataset root) per split:
    how many clips have one, and whether the features barely vary: the same across clips, or
    the same in every row of most clips. Reads at most MAX_READ files per split and folder."""
    root = Path(root)
    lines = ["## Organiser features", ""]
    present = [m for m, d in ORGANISER_DIRS.items() if (root / d).is_dir()]
    if not present:
        folders = ", ".join(f"{d}/" for d in ORGANISER_DIRS.values())
        return [*lines, f"No organiser feature folders ({folders}) in the dataset root.", ""]
    lines += [
        (
            f"Per split and folder: the clips with a file, and of those at most {MAX_READ} read "
            "(evenly spaced ids): their width, the feature dimensions with no spread over every row "
            "of the read clips, and the read clips of several rows that are all equal."
        ),
        "",
        (
            "| split | folder | clips | with a file | read | width | constant dimensions "
            "| constant within clip | note |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    unreadable: list[str] = []
    for split in SPLITS:
        ids = _split_ids(manifest, split)
        lines += [_feature_row(root, m, split, ids, unreadable) for m in present]
    lines.append("")
    if unreadable:
        lines += [f"Unreadable organiser files ({len(unreadable)}):", ""]
        lines += unreadable[:MAX_LISTED]
        if len(unreadable) > MAX_LISTED:
            lines.append(f"- ... and {len(unreadable) - MAX_LISTED} more")
        lines.append("")
    return lines


def data_report(
    manifest: pd.DataFrame,
    dataset: str,
    transcripts: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
    root: str | Path | None = None,
) -> str:
    """The report's Markdown text. ``transcripts``: {set: {split: transcript table}} (indexed by
    id or with an ``id`` column); ``root``: the dataset root, whose organiser feature folders are
    checked when given."""
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
    lines += modalities_section(m, has_audio, transcripts)
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
    lines.append("")
    if transcripts:
        lines += transcripts_section(transcripts, m)
    if root is not None:
        lines += organiser_section(m, root)
    return "\n".join(lines).rstrip("\n") + "\n"

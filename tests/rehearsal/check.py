"""Checks of a finished rehearsal (tests/rehearsal/run.sh): what issue 11 asks the real path to show,
and what the less kind fake root of issue 25 must bring (check_unkind_root).

Usage: python tests/rehearsal/check.py RESULTS_DIR ROOT. Prints what it checked; exits non-zero
with the first failed check.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from emibench.data.store import SequenceReader

REPO = Path(__file__).resolve().parents[2]
WIDTHS = {"visual": 768, "audio": 1024, "text": 768}
HUB_NAMES = {
    "visual": "ViT-B-16",
    "audio": "facebook/wav2vec2-large-lv60",
    "text": "google-bert/bert-base-uncased",
}


def merged_config() -> dict:
    config = yaml.safe_load((REPO / "config/vidmimic2.yaml").read_text())
    overrides = yaml.safe_load((REPO / "tests/rehearsal/rehearsal.yaml").read_text())

    def merge(base: dict, over: dict) -> dict:
        for key, value in over.items():
            base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
        return base

    return merge(config, overrides)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"rehearsal check failed: {what}")
    print(f"ok: {what}")


def main(results: Path, root: Path) -> None:
    config = merged_config()
    for modality, width in WIDTHS.items():
        for split in ("train", "valid", "test"):
            with SequenceReader(results / "features/frozen" / modality / split / "00.h5") as store:
                attrs = store.store_attrs()
                check(
                    attrs["dim"] == width and attrs["encoder"] == HUB_NAMES[modality],
                    f"frozen {modality} {split}: {attrs['dim']} wide, from {attrs['encoder']}",
                )
                present = [i for i in store.ids() if not store.is_missing(i)]
                check(bool(present), f"frozen {modality} {split}: {len(present)} clips present")
    # Stage II's stage1 set holds the Stage I encoders' features (stage1.features: encoder), at
    # the encoders' widths, not the projection heads'
    for modality, width in WIDTHS.items():
        for split in ("train", "valid", "test"):
            with SequenceReader(
                results / "features/stage1_seed0" / modality / split / "00.h5"
            ) as s:
                dim = s.store_attrs()["dim"]
                check(dim == width, f"stage1 {modality} {split}: {dim} wide (the encoder's)")
    systems = config["train"]["systems"]
    runs = [
        results / "runs" / system / variant / f"seed{seed}" / "metrics.json"
        for system, spec in systems.items()
        for variant in spec["variants"]
        for seed in config["train"]["seeds"]
    ]
    lacking = [str(r) for r in runs if not r.is_file()]
    check(not lacking, f"all {len(runs)} runs of {len(systems)} systems trained ({lacking[:3]})")
    for run in runs:
        metrics = json.loads(run.read_text())
        check(set(metrics["splits"]) == {"valid"}, f"{run.parent}: scored on valid only")
    for name in config["report"]["tables"]:
        table = pd.read_csv(results / "tables" / f"{name}.csv")
        check(
            table["valid_mean"].notna().all() and not table.filter(like="test_").any(axis=None),
            f"table {name}: valid scores, no test column filled",
        )
    test_ids = set(pd.read_csv(root / "test_split.csv")["Filename"])
    for system in systems:
        submission = pd.read_csv(results / "submission" / f"{system}.csv")
        check(set(submission["Filename"]) == test_ids, f"submission {system}: every test id")
    html = (results / "report" / "report.html").read_text()
    check("Traceback" not in html and len(html) > 10_000, "report.html rendered")
    check_unkind_root(results, root, config)


def check_unkind_root(results: Path, root: Path, config: dict) -> None:
    """What the fake root holds that a kind one would not (issue 25): more train clips than one
    TAEMI batch, most of them without audio and so with empty transcripts, and every train
    transcript the same (the random Whisper writes the same words for every clip)."""
    record = json.loads((root / "fake_root.json").read_text())
    manifest = pd.read_csv(results / "manifest.tsv", sep="\t", dtype={"id": str}).set_index("id")
    train = manifest[manifest["split"] == "train"]
    batch = config["train"]["systems"]["taemi"]["train"]["batch_size"]
    check(len(train) > batch, f"train: {len(train)} clips, more than one TAEMI batch of {batch}")
    silent = record["no_audio"]["train"]
    check(
        2 * len(silent) > len(train) and not manifest.loc[silent, "has_audio"].any(),
        f"train: {len(silent)} of {len(train)} clips without audio (the modality missing for most)",
    )
    transcripts = pd.read_csv(
        results / "transcripts/train.tsv", sep="\t", dtype=str, keep_default_na=False
    ).set_index("id")
    empty = transcripts.loc[silent]
    check(
        (empty["status"] == "no_audio").all() and (empty["text"] == "").all(),
        f"train: the {len(silent)} clips without audio have empty transcripts (status no_audio)",
    )
    spoken = transcripts.loc[transcripts["status"] == "ok", "text"]
    check(
        len(spoken) >= 2 and spoken.nunique() == 1,
        f"train: every transcript the same ({spoken.iloc[0]!r} x {len(spoken)})",
    )
    report = (results / "dataset" / "data_report.md").read_text()
    said = f"text: 1 distinct transcript among {len(spoken)} train clips"
    check(said in report, f"data report: '{said}'")
    stage1 = [p.read_text() for p in sorted((results / "logs" / "stage1").glob("*.log"))]
    warned = re.compile(
        rf"WARNING .*transcripts \(text CLS\): 1 distinct among {len(spoken)} train"
    )
    check(
        bool(stage1) and all(warned.search(text) for text in stage1),
        f"Stage I logs warn: transcripts 1 distinct among {len(spoken)} train samples",
    )
    constant = re.compile(r"WARNING .*text \(CLS\) features are \(nearly\) constant on train")
    warning = [
        p.stem for p in (results / "logs/train").glob("*.log") if constant.search(p.read_text())
    ]
    check(
        "dscmn_VAT_stage1" in warning,
        f"Stage II logs warn: text (CLS) features constant on train (dscmn_VAT_stage1 and "
        f"{len(warning) - 1} more runs)",
    )
    log = (results / "runs/taemi/VAT_taemi/seed0/log.txt").read_text()
    found = re.search(r"train: (\d+) clips in batches of up to (\d+)", log)
    check(
        found is not None and int(found[1]) == len(train) and int(found[2]) == batch,
        f"TAEMI end to end trained a full batch: '{found[0] if found else None}'",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

"""The manifest, layout check, data report and Table 1 on a small hand-made root with broken media."""

import json
import logging
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from emibench.cli import main
from emibench.data.data_report import data_report
from emibench.data.labels import LabelError
from emibench.data.layout import LayoutError, check_layout
from emibench.data.manifest import COLUMNS, assign_shards, build_manifest
from emibench.data.synthetic.encode import truncate_file, write_mp4, write_wav
from emibench.data.table1 import PAPER_TABLE1, build_table1, hms, table1_markdown
from emibench.data.tables import read_table
from emibench.emotions import EMOTIONS

HEADER = "Filename," + ",".join(EMOTIONS)
SPLITS = {"train": [0, 1, 2, 3, 4], "valid": [5, 6, 7], "test": [8, 9]}


def clip(path, seconds=3.0, fps=10, audio=True, faststart=False, size=(48, 32)):
    rng = np.random.default_rng(0)
    n = int(seconds * fps)
    frames = (rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) for _ in range(n))
    sound = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32) if audio else None
    write_mp4(
        path,
        frames,
        Fraction(fps),
        size[0],
        size[1],
        audio=sound,
        audio_rate=16000,
        faststart=faststart,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("vidmimic")
    raw, audio = root / "raw", root / "audio"
    raw.mkdir()
    audio.mkdir()
    for split, ids in SPLITS.items():
        rows = [HEADER] + [f"{i}," + ",".join(["0.5"] * 6) for i in ids]  # test labels present
        (root / f"{split}_split.csv").write_text("\n".join(rows) + "\n")
    for i in (0, 4, 7, 8, 9):
        clip(raw / f"{i:05d}.mp4")
    clip(raw / "00001.mp4", audio=False)
    (raw / "00002.mp4").write_bytes(b"")  # zero bytes; 00003 is missing altogether
    clip(raw / "00005.mp4", faststart=True)
    truncate_file(raw / "00005.mp4", 0.4)  # index intact, data cut
    clip(raw / "00006.mp4")
    truncate_file(raw / "00006.mp4", 0.5)  # index (at the end) lost
    clip(raw / "00099.mp4", seconds=1)  # listed in no CSV
    write_wav(audio / "00000.wav", np.zeros(16000, np.float32), 16000)
    (audio / "00004.wav").write_bytes(b"RIFF garbage")
    clip(raw / "00009.mp4", size=(32, 48), fps=60)  # portrait, 60 fps
    return root


@pytest.fixture(scope="module")
def manifest(root):
    return build_manifest(root, {"train": 2, "valid": 2, "test": 1}, threads=2)


def test_broken_media_are_kept_with_reasons(manifest):
    assert list(manifest.columns) == COLUMNS
    assert list(manifest["id"]) == [f"{i:05d}" for ids in SPLITS.values() for i in ids]
    row = manifest.set_index("id")
    status = row["status"].to_dict()
    assert {k for k, v in status.items() if v == "broken"} == {"00002", "00003", "00005", "00006"}
    assert row.loc["00002", "reason"] == "empty file (0 bytes)"
    assert row.loc["00003", "reason"] == "missing file"
    assert row.loc["00005", "reason"].startswith("truncated")
    assert row.loc["00006", "reason"].startswith("unreadable")
    assert (row.loc[row["status"] == "ok", "reason"] == "").all()
    assert row.loc["00000", "audio_source"] == "file" and row.loc["00000", "audio_rate"] == 16000
    assert row.loc["00001", "audio_source"] == "none" and not row.loc["00001", "has_audio"]
    assert row.loc["00004", "audio_source"] == "mp4"  # unreadable wav: falls back to the mp4
    assert row.loc["00004", "audio_path"] == ""
    assert row.loc["00007", "duration_s"] == pytest.approx(3.0, abs=0.05)
    assert row.loc["00007", "n_video_frames"] == 30 and row.loc["00007", "fps"] == 10
    assert (row.loc["00009", "width"], row.loc["00009", "height"], row.loc["00009", "fps"]) == (
        32,
        48,
        60,
    )
    assert "00099" not in row.index
    assert row.loc[row["split"] == "test", list(EMOTIONS)].isna().all(axis=None)
    assert (row.loc[row["split"] == "train", list(EMOTIONS)] == 0.5).all(axis=None)


def test_warnings_name_the_files(root, caplog):
    with caplog.at_level(logging.WARNING):
        build_manifest(root, {"train": 1, "valid": 1, "test": 1}, threads=1)
    text = caplog.text
    assert "00002.mp4" in text and "00005.mp4" in text and "truncated" in text
    assert "00099.mp4 is listed in no split CSV" in text
    assert "00004.wav" in text


def test_shards_round_robin_over_sorted_ids(manifest):
    assert assign_shards(["00009", "00002", "00005", "00001", "00007"], 2) == {
        "00001": 0,
        "00002": 1,
        "00005": 0,
        "00007": 1,
        "00009": 0,
    }
    assert list(manifest.loc[manifest["split"] == "train", "shard"]) == [0, 1, 0, 1, 0]
    assert list(manifest.loc[manifest["split"] == "valid", "shard"]) == [0, 1, 0]
    assert set(manifest.loc[manifest["split"] == "test", "shard"]) == {0}
    with pytest.raises(ValueError):
        assign_shards(["00001"], 0)


def test_layout_check(root, tmp_path):
    report = check_layout(root)
    assert report["splits"]["train"]["missing_media"] == ["00003"]
    assert report["splits"]["train"]["empty_media"] == ["00002"]
    assert report["orphan_media"] == ["00099"]
    assert report["splits"]["test"]["labelled"] is False  # test labels stay hidden
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(LayoutError, match="train_split.csv is missing"):
        check_layout(bad)
    for split, ids in (("train", [0, 1]), ("valid", [1]), ("test", [2])):
        (bad / f"{split}_split.csv").write_text(
            HEADER + "\n" + "".join(f"{i},0,0,0,0,0,0\n" for i in ids)
        )
    with pytest.raises(
        LabelError, match=r"valid_split.csv: id 00001 is also listed in .*train_split.csv"
    ):
        check_layout(bad)
    (bad / "valid_split.csv").write_text(HEADER + "\n3,0,0,0,0,0,0\n")
    with pytest.raises(LayoutError, match="raw"):
        check_layout(bad)


def test_table1(manifest):
    assert hms(54423) == "15:07:03" and hms(120190) == "33:23:10" and hms(59.6) == "0:01:00"
    assert PAPER_TABLE1["total"] == ("33:23:10", 17246)
    assert sum(PAPER_TABLE1[s][1] for s in ("train", "valid", "test")) == 17246
    table = build_table1(manifest)
    assert list(table["split"]) == ["train", "valid", "test", "total"]
    assert list(table["samples"]) == [5, 3, 2, 10]
    assert "paper_duration" not in table.columns
    assert table.loc[3, "duration_s"] == pytest.approx(table.loc[:2, "duration_s"].sum())
    assert table.loc[0, "unreadable"] == 2  # the empty and the missing file
    ref = build_table1(manifest, paper_reference=True)
    md = table1_markdown(ref, "vidmimic2")
    assert "| Train | 0:00:" in md and "15:07:03" in md and "17,246" in md


def test_data_report(manifest):
    text = data_report(manifest, "tiny")
    assert "## Broken clips (4)" in text and "empty file (0 bytes)" in text
    assert "## Clips without audio" in text and "`00001` (train)" in text
    assert "## Portrait clips (1)" in text and "32x48" in text
    assert "## Frame rates other than 24/25/30 (" in text and "60.000 fps" in text
    assert "## Transcripts" not in text and "## Organiser features" not in text
    # modalities: train 3 of 5 decode, 2 have audio; valid 1 of 3 decodes and has audio
    assert "| train | 5 | 3 | 2 |  | audio missing for 3 of 5 train clips |" in text
    assert "visual missing for 2 of 3 valid clips; audio missing for 2 of 3 valid clips" in text


def test_data_report_names_a_transcript_set_that_is_the_same_for_every_train_clip(manifest):
    train = manifest.loc[manifest["split"] == "train", "id"].tolist()
    same = pd.DataFrame({"id": train, "text": ["thank you for watching"] * len(train)})
    varied = pd.DataFrame({"id": train, "text": [f"clip {i} speaks" for i in train]})
    text = data_report(manifest, "tiny", {"default": {"train": varied}, "taemi": {"train": same}})
    rows = {
        tuple(cell.strip() for cell in line.split("|")[1:3]): line
        for line in text.splitlines()
        if line.startswith("| ")
    }
    assert "nearly constant" not in rows["default", "train"]
    assert f"text: 1 distinct transcript among {len(train)} train clips" in rows["taemi", "train"]


def test_cli_steps(root, tmp_path, capfd):
    out = tmp_path / "manifest.tsv"
    assert (
        main(
            [
                "manifest",
                "--root",
                str(root),
                "--shards",
                '{"train":2,"valid":1,"test":1}',
                "--output",
                str(out),
            ]
        )
        == 0
    )
    table = read_table(out)
    assert table["id"].iloc[0] == "00000" and len(table) == 10
    csv_path, md_path = tmp_path / "t1.csv", tmp_path / "t1.md"
    assert (
        main(
            [
                "table1",
                "--manifest",
                str(out),
                "--csv",
                str(csv_path),
                "--md",
                str(md_path),
                "--paper-reference",
            ]
        )
        == 0
    )
    assert "33:23:10" in md_path.read_text()
    report = tmp_path / "r.md"
    command = ["data-report", "--manifest", str(out), "--output", str(report)]
    assert main([*command, "--root", str(root)]) == 0
    assert "No organiser feature folders (vit/, wav2vec2/)" in report.read_text()
    ok = tmp_path / "ok.json"
    assert main(["check-dataset", "--root", str(root), "--output", str(ok)]) == 0
    assert json.loads(ok.read_text())["orphan_media"] == ["00099"]
    bad = tmp_path / "badroot"
    bad.mkdir()
    (bad / "train_split.csv").write_text("Filename,Joy\n1,0\n")
    assert main(["check-dataset", "--root", str(bad), "--output", str(ok)]) == 1
    assert "train_split.csv, line 1, column 'Joy'" in capfd.readouterr().err

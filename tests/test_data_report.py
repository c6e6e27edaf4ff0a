"""The data report's degenerate cases on a hand-made manifest (no media): transcripts that are
constant, shared or missing per split, a modality missing for most of a split, and organiser
feature files that are constant or unreadable."""

import pickle

import numpy as np
import pandas as pd
import pytest

from emibench.cli import main
from emibench.data.data_report import MAX_READ, data_report
from emibench.data.manifest import COLUMNS
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS

SIZES = {"train": 8, "valid": 6, "test": 4}


def make_manifest(no_audio: set[str] = frozenset()) -> pd.DataFrame:
    rows, n = [], 0
    for split, size in SIZES.items():
        for _ in range(size):
            clip_id = f"{n:05d}"
            row = dict.fromkeys(COLUMNS, "")
            row.update(
                id=clip_id,
                split=split,
                shard=0,
                status="ok",
                duration_s=4.0,
                fps=25.0,
                width=64,
                height=48,
                has_audio=clip_id not in no_audio,
                audio_source="stream",
                **{e: 0.5 for e in EMOTIONS},
            )
            rows.append(row)
            n += 1
    return pd.DataFrame(rows, columns=COLUMNS)


def split_ids(manifest, split):
    return manifest.loc[manifest["split"] == split, "id"].tolist()


def varied(ids):
    return pd.DataFrame({"id": ids, "text": [f"clip {i} speaks" for i in ids], "status": "ok"})


def table_rows(text: str, title: str) -> list[list[str]]:
    """The rows of the Markdown table under ``## title``, as lists of stripped cells."""
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ")
        and not line.startswith("| set |")
        and not line.startswith("| split |")
    ]


def write_pkl(path, array):
    """An organiser feature file as fake_root.write_organiser_features writes one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(np.asarray(array, dtype=np.float32), handle)


def test_identical_transcripts_in_valid_are_flagged_and_varied_train_is_not():
    m = make_manifest()
    train, valid = split_ids(m, "train"), split_ids(m, "valid")
    same = pd.DataFrame({"id": valid, "text": ["thank you for watching"] * len(valid)})
    text = data_report(m, "tiny", {"default": {"train": varied(train), "valid": same}})
    rows = {(r[0], r[1]): r for r in table_rows(text, "Transcripts")}
    assert "nearly constant" not in rows["default", "train"][-1]
    assert rows["default", "train"][5] == str(len(train))  # distinct
    note = rows["default", "valid"][-1]
    assert f"nearly constant: text: 1 distinct transcript among {len(valid)} valid clips" in note
    assert rows["default", "valid"][6] == f"'thank you for watching' ({len(valid)})"
    assert rows["default", "valid"][7] == f"{len(valid)} clips share 1 text"


def test_texts_shared_by_most_clips_are_flagged_as_duplicated():
    m = make_manifest()
    valid = split_ids(m, "valid")  # 6 clips: two texts three times each
    texts = ["hello there", "goodbye now"] * 3
    table = pd.DataFrame({"id": valid, "text": texts})
    rows = table_rows(data_report(m, "tiny", {"taemi": {"valid": table}}), "Transcripts")
    assert rows[0][:2] == ["taemi", "valid"]
    assert rows[0][7] == "6 clips share 2 texts"
    assert rows[0][-1] == "mostly duplicated: 6 of 6 valid clips share their text with another clip"


def test_empty_transcripts_count_as_clips_without_speech_with_their_reasons():
    m = make_manifest()
    test = split_ids(m, "test")  # 4 clips: one speaks, two empty, one without a row
    table = pd.DataFrame(
        {
            "id": test[:3],
            "text": ["a real sentence", "", None],
            "status": ["ok", "no_audio", "empty_audio"],
            "reason": ["", "no audio in the store", ""],
        }
    )
    text = data_report(m, "tiny", {"default": {"test": table}})
    (row,) = table_rows(text, "Transcripts")
    assert row[:4] == ["default", "test", "4", "1"]
    assert row[4] == "3 (no_audio 1, empty_audio 1, no transcript row 1)"
    assert "no speech in 3 of 4 test clips" in row[-1]
    assert f"`{test[1]}` (no_audio: no audio in the store)" in text
    assert f"`{test[3]}` (no transcript row)" in text
    # the modality table counts the default set's text: missing for 3 of the 4 test clips
    modalities = {r[0]: r for r in table_rows(text, "Modalities per split")}
    assert modalities["test"][4] == "1" and "text missing for 3 of 4 test clips" in text
    assert modalities["train"][4] == ""  # no train table given


def test_audio_missing_for_most_of_a_split_is_noted():
    m = make_manifest()
    train = split_ids(m, "train")
    m = make_manifest(no_audio=set(train[:6]))
    text = data_report(m, "tiny")
    modalities = {r[0]: r for r in table_rows(text, "Modalities per split")}
    assert modalities["train"][:5] == ["train", "8", "8", "2", ""]
    assert modalities["train"][-1] == "audio missing for 6 of 8 train clips"
    assert modalities["valid"][-1] == ""
    assert "## Transcripts" not in text and "## Organiser features" not in text


def test_a_root_without_organiser_folders_is_reported_as_such(tmp_path):
    text = data_report(make_manifest(), "tiny", root=tmp_path)
    assert "No organiser feature folders (vit/, wav2vec2/) in the dataset root." in text


def test_constant_organiser_features_and_unreadable_files_are_named(tmp_path):
    m = make_manifest()
    rng = np.random.default_rng(0)
    for clip_id in split_ids(m, "train"):  # the same rows for every train clip
        write_pkl(tmp_path / "vit" / f"{clip_id}.pkl", np.tile(np.arange(384.0), (10, 1)))
    for clip_id in split_ids(m, "valid"):  # random: nothing constant
        write_pkl(tmp_path / "vit" / f"{clip_id}.pkl", rng.normal(size=(10, 384)))
    for clip_id in split_ids(m, "valid")[:5]:  # each clip one row repeated, varying across clips
        write_pkl(tmp_path / "wav2vec2" / f"{clip_id}.pkl", np.tile(rng.normal(size=768), (20, 1)))
    broken = split_ids(m, "valid")[5]
    (tmp_path / "wav2vec2" / f"{broken}.pkl").write_bytes(b"not a pickle")
    empty = split_ids(m, "test")[0]
    write_pkl(tmp_path / "vit" / f"{empty}.pkl", np.zeros((0, 384)))
    text = data_report(m, "tiny", root=tmp_path)
    rows = {(r[0], r[1]): r for r in table_rows(text, "Organiser features")}
    train = rows["train", "vit"]
    assert train[2:8] == ["8", "8", "8", "384", "384 of 384", "8 of 8"]
    assert "constant across clips: every feature the same in the 8 read clips" in train[-1]
    assert "constant within 8 of 8 read clips" in train[-1]
    assert rows["valid", "vit"][6:] == ["0 of 384", "0 of 6", ""]
    audio = rows["valid", "wav2vec2"]
    assert audio[3:5] == ["6", "5 (1 unreadable)"]
    assert "constant across clips" not in audio[-1]
    assert "constant within 5 of 5 read clips" in audio[-1]
    assert rows["train", "wav2vec2"][-1] == "wav2vec2 missing for 8 of 8 train clips"
    assert rows["test", "vit"][3:5] == ["1", "0 (1 unreadable)"]
    assert rows["test", "vit"][-1] == "vit missing for 3 of 4 test clips"
    assert f"- `wav2vec2/{broken}.pkl` (valid): cannot unpickle" in text
    assert f"- `vit/{empty}.pkl` (test): no rows (shape (0, 384))" in text


def test_organiser_files_read_are_bounded_and_evenly_spaced(tmp_path, monkeypatch):
    from emibench.data import data_report as module

    monkeypatch.setattr(module, "MAX_READ", 3)
    m = make_manifest()
    read = []
    real = module.read_organiser_features
    monkeypatch.setattr(module, "read_organiser_features", lambda p: read.append(p.stem) or real(p))
    for clip_id in split_ids(m, "train"):
        write_pkl(tmp_path / "vit" / f"{int(clip_id)}.pkl", np.ones((2, 4)) * int(clip_id))
    text = data_report(m, "tiny", root=tmp_path)
    assert read == ["0", "4", "7"]  # 3 of the 8 train ids, first and last included
    assert "at most 3 read" in text
    train = {(r[0], r[1]): r for r in table_rows(text, "Organiser features")}["train", "vit"]
    assert train[3:5] == ["8", "3"] and train[6] == "0 of 4"
    assert "constant within 3 of 3 read clips" in train[-1]  # each clip's two rows are equal
    assert MAX_READ == 200


def test_cli_takes_every_split_of_each_set_and_the_root(tmp_path):
    m = make_manifest()
    manifest = tmp_path / "manifest.tsv"
    write_table(m, manifest)
    args = []
    for split in SIZES:
        path = tmp_path / f"{split}.tsv"
        write_table(varied(split_ids(m, split)), path)
        args.append(f"default:{split}={path}")
    out = tmp_path / "report.md"
    command = ["data-report", "--manifest", str(manifest), "--output", str(out)]
    assert main([*command, "--root", str(tmp_path), "--transcripts", *args]) == 0
    rows = table_rows(out.read_text(), "Transcripts")
    assert [r[:3] for r in rows] == [["default", s, str(n)] for s, n in SIZES.items()]
    assert "No organiser feature folders" in out.read_text()
    assert main([*command, "--transcripts", f"default={tmp_path / 'train.tsv'}"]) == 1


@pytest.mark.parametrize("item", ["default:tra=x.tsv", ":train=x.tsv", "default:train="])
def test_cli_refuses_a_malformed_transcripts_argument(tmp_path, item):
    manifest = tmp_path / "manifest.tsv"
    write_table(make_manifest(), manifest)
    out = tmp_path / "r.md"
    assert (
        main(
            [
                "data-report",
                "--manifest",
                str(manifest),
                "--output",
                str(out),
                "--transcripts",
                item,
            ]
        )
        == 1
    )

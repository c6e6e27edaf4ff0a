"""Label CSV validation: every problem (text that is not UTF-8 included) names the file, the line
and the column; every reader of the split and test-label CSVs goes through it."""

import math

import pytest

from emibench.cli import main
from emibench.data.labels import LabelError, read_split_csv
from emibench.emotions import EMOTIONS
from emibench.evaluate.labels import read_test_labels
from emibench.report.collect import read_labels

HEADER = "Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy"
GOOD = [HEADER, "0,0.1,0,0.3,0,0,0", "7,1,0.5,0,0,0.2,0.9"]


def write(tmp_path, lines, name="train_split.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reads_ids_as_five_digit_strings(tmp_path):
    frame = read_split_csv(write(tmp_path, GOOD + ["00012,0,0,0,0,0,0"]), labels_required=True)
    assert list(frame["id"]) == ["00000", "00007", "00012"]
    assert list(frame.columns) == ["id", *EMOTIONS]
    assert frame.loc[1, "Joy"] == pytest.approx(0.9)


def test_test_split_without_labels(tmp_path):
    path = write(tmp_path, ["Filename", "4", "5"], "test_split.csv")
    frame = read_split_csv(path, labels_required=False)
    assert list(frame["id"]) == ["00004", "00005"]
    assert frame[list(EMOTIONS)].isna().all(axis=None)
    with pytest.raises(LabelError, match=r"test_split\.csv, line 1: labels are required"):
        read_split_csv(path, labels_required=True)


@pytest.mark.parametrize(
    "lines, where, what",
    [
        (
            [
                "Filename,Admiration,Amusement,Determination,EmpathicPain,Excitement,Joy",
                "0,0,0,0,0,0,0",
            ],
            r"line 1, column 'EmpathicPain'",
            "header",
        ),
        (
            ["Filename,Amusement,Admiration,Determination,Empathic Pain,Excitement,Joy"],
            r"line 1, column 'Amusement'",
            "header",
        ),
        (GOOD + ["-3,0,0,0,0,0,0"], r"line 4, column 'Filename'", "not a non-negative integer"),
        (GOOD + ["12.0,0,0,0,0,0,0"], r"line 4, column 'Filename'", "not a non-negative integer"),
        (GOOD + ["abc,0,0,0,0,0,0"], r"line 4, column 'Filename'", "not a non-negative integer"),
        (GOOD + ["9,0,0,1.5,0,0,0"], r"line 4, column 'Determination'", r"outside \[0, 1\]"),
        (GOOD + ["9,0,0,0,-0.1,0,0"], r"line 4, column 'Empathic Pain'", r"outside \[0, 1\]"),
        (GOOD + ["9,0,0,0,0,nan,0"], r"line 4, column 'Excitement'", "missing"),
        (GOOD + ["9,0,0,0,0,0,"], r"line 4, column 'Joy'", "missing"),
        (GOOD + ["9,0,x,0,0,0,0"], r"line 4, column 'Amusement'", "not a number"),
        (
            GOOD + ["7,0,0,0,0,0,0"],
            r"line 4, column 'Filename'",
            "duplicate id 00007 .first on line 3",
        ),
        (GOOD + ["9,0,0,0"], r"line 4", "4 fields, expected 7"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, lines, where, what):
    path = write(tmp_path, lines)
    with pytest.raises(LabelError, match=what) as err:
        read_split_csv(path, labels_required=True)
    assert str(path) in str(err.value)
    assert err.match(where)
    assert isinstance(err.value, ValueError)


def test_blank_lines_keep_line_numbers(tmp_path):
    path = write(tmp_path, [HEADER, "0,0,0,0,0,0,0", "", "1,0,0,2,0,0,0"])
    with pytest.raises(LabelError, match="line 4, column 'Determination'"):
        read_split_csv(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "valid_split.csv"
    empty.write_text("")
    with pytest.raises(LabelError, match="valid_split.csv, line 1: empty file"):
        read_split_csv(empty)
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        read_split_csv(tmp_path / "nowhere.csv")


def test_values_are_exact(tmp_path):
    frame = read_split_csv(write(tmp_path, [HEADER, "3,0.3333333333333333,0,0,0,0,1"]))
    assert math.isclose(frame.loc[0, "Admiration"], 1 / 3)


def test_text_that_is_not_utf8_names_file_and_line(tmp_path):
    text = "\n".join(GOOD) + "\n"
    utf16 = tmp_path / "train_split.csv"
    utf16.write_text(text, encoding="utf-16")  # with its BOM, 0xff 0xfe
    with pytest.raises(LabelError, match=r"train_split\.csv, line 1: not UTF-8 text: byte 0xff"):
        read_split_csv(utf16)
    with pytest.raises(LabelError, match="looks like UTF-16"):
        read_split_csv(utf16)
    bare = tmp_path / "valid_split.csv"
    bare.write_bytes(text.encode("utf-16-le"))  # no BOM: valid UTF-8, a NUL after each letter
    with pytest.raises(LabelError, match=r"valid_split\.csv, line 1: not UTF-8 text: a NUL"):
        read_split_csv(bare)
    latin1 = tmp_path / "test_split.csv"
    latin1.write_bytes((text + "8,0,0,0,0,0,0\n9,0,0,0,0,0,0 caf\xe9\n").encode("latin-1"))
    with pytest.raises(
        LabelError, match=r"test_split\.csv, line 5: not UTF-8 text: byte 0xe9 at byte 18 "
    ):
        read_split_csv(latin1)
    bom = tmp_path / "bom.csv"
    bom.write_text(text, encoding="utf-8-sig")
    assert list(read_split_csv(bom)["id"]) == ["00000", "00007"]


def test_check_dataset_and_the_test_label_readers_name_file_and_line(tmp_path, capfd):
    root = tmp_path / "root"
    (root / "raw").mkdir(parents=True)
    write(root, [HEADER, "1,0,0,0,0,0,0"], "valid_split.csv")
    write(root, ["Filename", "2"], "test_split.csv")
    (root / "train_split.csv").write_bytes(("\n".join(GOOD) + "\n").encode("utf-16"))
    out = str(tmp_path / "ok.json")
    assert main(["check-dataset", "--root", str(root), "--output", out]) == 1
    assert f"{root / 'train_split.csv'}, line 1: not UTF-8 text" in capfd.readouterr().err
    labels = root / "test_labels.csv"
    labels.write_bytes(f"{HEADER}\n2,0,0,0,0,0,0.5\xb5\n".encode("latin-1"))
    with pytest.raises(LabelError, match=r"test_labels\.csv, line 2: not UTF-8 text: byte 0xb5"):
        read_test_labels(labels, ["00002"])
    with pytest.raises(LabelError, match=r"test_labels\.csv, line 2: not UTF-8 text: byte 0xb5"):
        read_labels("test", root / "manifest.tsv", labels)

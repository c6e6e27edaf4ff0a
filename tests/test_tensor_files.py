"""Checkpoints and model files load with weights_only: a crafted pickle is refused, runs nothing."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from emibench.stage1.checkpoint import FORMAT, load_stage1, save_checkpoint
from emibench.tensor_files import UnsafeFileError, load_plain, plain
from emibench.train.predict import load_saved_run
from emibench.train.stacking import stack_predict


class _Payload:
    """Unpickling this writes ``marker``: what a crafted checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def _crafted(path: Path, marker: Path, **content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**content, "history": [_Payload(marker)]}, path)
    return path


def _assert_refused_and_live(path: Path, marker: Path, call) -> None:
    with pytest.raises(UnsafeFileError, match=re.escape(f"{path}: refused")) as caught:
        call()
    assert "Unsupported global" in str(caught.value) and not marker.exists()
    torch.load(path, weights_only=False)  # the payload is live: the old loaders ran it
    assert marker.read_text() == "ran"


def test_a_crafted_stage1_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "marker"
    ckpt = _crafted(tmp_path / "stage1" / "checkpoint.pt", marker, format=FORMAT)
    _assert_refused_and_live(ckpt, marker, lambda: load_stage1(ckpt))


def test_a_crafted_late_fusion_model_is_refused(tmp_path):
    marker = tmp_path / "marker"
    run = tmp_path / "runs" / "late_fusion" / "VAT" / "seed0"
    model = _crafted(run / "model.pt", marker, kind="late_fusion")
    _assert_refused_and_live(
        model,
        marker,
        lambda: stack_predict(run, [], "manifest.tsv", {}, ("valid",), tmp_path / "out", "cpu"),
    )


def test_a_crafted_trained_run_model_is_refused(tmp_path):
    marker = tmp_path / "marker"
    run = tmp_path / "run"
    model = _crafted(run / "model.pt", marker, model_config={})
    _assert_refused_and_live(model, marker, lambda: load_saved_run(run, torch.device("cpu")))


@dataclasses.dataclass
class _Settings:
    epochs: int
    where: Path


def test_plain_values_round_trip_with_weights_only(tmp_path):
    content = {
        "history": [{"epoch": np.int64(3), "loss": np.float32(0.5), "selected": np.bool_(True)}],
        "settings": _Settings(2, Path("/x")),
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "pair": (1, "a", None),
    }
    save_checkpoint(tmp_path / "c.pt", **content)
    back = load_plain(tmp_path / "c.pt")
    assert back["format"] == FORMAT and back["pair"] == (1, "a", None)
    assert back["history"] == [{"epoch": 3, "loss": 0.5, "selected": True}]
    assert type(back["history"][0]["epoch"]) is int and type(back["history"][0]["selected"]) is bool
    assert back["settings"] == {"epochs": 2, "where": "/x"}
    torch.testing.assert_close(back["array"], torch.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match=r"settings\.fn: cannot save builtin_function_or_method"):
        plain({"settings": {"fn": print}})


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_plain(tmp_path / "absent.pt")

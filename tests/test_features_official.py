"""The organisers' vit/*.pkl and wav2vec2/*.pkl: reading, source resolution, pooling onto frames."""

import pickle

import numpy as np
import pandas as pd
import pytest

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.features.official import (
    OrganiserFeatureError,
    organiser_path,
    read_organiser_features,
    resolve_official_source,
)
from features_fakes import MINILM, features_argv, write_manifest, write_shard

IDS = [f"{i:05d}" for i in range(4)]


def _dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def test_read_organiser_features_accepts_arrays_lists_and_one_array_dicts(tmp_path):
    array = np.arange(12, dtype=np.float64).reshape(3, 4)
    for name, obj in {"a": array, "b": array.tolist(), "c": {"feat": array}}.items():
        _dump(tmp_path / f"{name}.pkl", obj)
        got = read_organiser_features(tmp_path / f"{name}.pkl")
        assert got.dtype == np.float32 and got.shape == (3, 4)
        np.testing.assert_array_equal(got, array)
    _dump(tmp_path / "bad.pkl", {"a": array, "b": array})
    with pytest.raises(OrganiserFeatureError, match="bad.pkl"):
        read_organiser_features(tmp_path / "bad.pkl")
    (tmp_path / "broken.pkl").write_bytes(b"not a pickle")
    with pytest.raises(OrganiserFeatureError, match="broken.pkl"):
        read_organiser_features(tmp_path / "broken.pkl")
    _dump(tmp_path / "f32.pkl", np.ones((2, 5), np.float32))
    assert read_organiser_features(tmp_path / "f32.pkl").shape == (2, 5)
    _dump(tmp_path / "cube.pkl", np.zeros((2, 3, 4)))
    with pytest.raises(OrganiserFeatureError, match=r"\(T, D\)"):
        read_organiser_features(tmp_path / "cube.pkl")


def test_source_resolution_and_file_names(tmp_path):
    assert resolve_official_source("auto", tmp_path, "visual") == "encoders"
    with pytest.raises(FileNotFoundError, match="official_source"):
        resolve_official_source("organiser", tmp_path, "visual")
    _dump(tmp_path / "vit" / "7.pkl", np.zeros((2, 384)))
    assert resolve_official_source("auto", tmp_path, "visual") == "organiser"
    assert resolve_official_source("auto", tmp_path, "audio") == "encoders"
    assert resolve_official_source("encoders", tmp_path, "visual") == "encoders"
    assert organiser_path(tmp_path, "visual", "00007").name == "7.pkl"
    assert organiser_path(tmp_path, "visual", "00008") is None


def test_official_features_from_organiser_files(tmp_path):
    paths = write_shard(tmp_path, "train", 0, IDS, size=32)
    manifest = write_manifest(tmp_path / "manifest.tsv", {("train", 0): IDS})
    frames = SequenceReader(paths["frames"])
    durations = {c: 1.0 + 0.4 * k for k, c in enumerate(IDS)}
    for clip_id in IDS[:3]:  # the last clip has no organiser files
        _dump(tmp_path / "vit" / f"{clip_id}.pkl", np.ones((int(durations[clip_id] * 30), 384)))
        ramp = np.arange(int(durations[clip_id] * 50), dtype=np.float32)[:, None]
        _dump(tmp_path / "wav2vec2" / f"{clip_id}.pkl", np.repeat(ramp, 768, axis=1))
    out = tmp_path / "out"
    argv = features_argv(
        "official",
        "train",
        manifest,
        paths,
        out,
        encoders={"text": {"name": MINILM}},
        organiser={"root": tmp_path, "source": "organiser"},
    )
    assert main(argv) == 0
    v, a = SequenceReader(out / "v"), SequenceReader(out / "a")
    assert v.store_attrs()["dim"] == 384 and a.store_attrs()["dim"] == 768
    for clip_id in IDS[:3]:
        n = len(frames[clip_id])
        assert v[clip_id].shape == (n, 384) and v[clip_id].dtype == np.float16
        assert a[clip_id].shape == (n, 768)
        assert a.extra(clip_id, "raw").shape == (int(durations[clip_id] * 50), 768)
        # step 1 (0.2 s) averages the 50 Hz rows centred in [0.1, 0.3): rows 5..14
        assert float(a[clip_id][1, 0]) == pytest.approx(9.5, abs=0.01)
    assert v.is_missing("00003") and "no organiser file" in v.attrs("00003")["reason"]
    assert a["00003"].shape == (0, 768)


def test_broken_video_without_duration_keeps_its_organiser_audio(tmp_path):
    """No frames and no probed duration: the wav2vec2 rows (50 per second) still give the clip
    its audio on a uniform 5 fps grid; its ViT rows cannot be placed in time."""
    paths = write_shard(tmp_path, "train", 0, IDS, size=32, missing_frames=("00001",))
    manifest = write_manifest(tmp_path / "manifest.tsv", {("train", 0): IDS})
    table = pd.read_csv(manifest, sep="\t", dtype={"id": str})
    table.loc[table["id"] == "00001", "duration_s"] = np.nan
    table.to_csv(manifest, sep="\t", index=False)
    for clip_id in IDS:
        _dump(tmp_path / "vit" / f"{clip_id}.pkl", np.ones((20, 384)))
        _dump(tmp_path / "wav2vec2" / f"{clip_id}.pkl", np.ones((100, 768)))
    out = tmp_path / "out"
    argv = features_argv(
        "official", "train", manifest, paths, out,
        encoders={"text": {"name": MINILM}},
        organiser={"root": tmp_path, "source": "organiser"},
    )  # fmt: skip
    assert main(argv) == 0
    v, a = SequenceReader(out / "v"), SequenceReader(out / "a")
    assert not a.is_missing("00001") and a["00001"].shape == (10, 768)
    assert a.extra("00001", "raw").shape == (100, 768)
    assert v.is_missing("00001") and "no duration and no frames" in v.attrs("00001")["reason"]


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused_not_run(tmp_path, monkeypatch):
    """Organiser files are untrusted: unpickling imports only numpy's array classes."""
    monkeypatch.chdir(tmp_path)
    _dump(tmp_path / "evil.pkl", _RunsCode())
    with pytest.raises(OrganiserFeatureError, match=r"evil.pkl.*refused (posix|os)\.system"):
        read_organiser_features(tmp_path / "evil.pkl")
    _dump(tmp_path / "nested.pkl", {"feat": _RunsCode()})
    with pytest.raises(OrganiserFeatureError, match="nested.pkl"):
        read_organiser_features(tmp_path / "nested.pkl")
    assert not (tmp_path / "pwned").exists()

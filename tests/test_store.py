import h5py
import numpy as np
import pytest

from emibench.data.store import SequenceReader, SequenceWriter


def test_roundtrip_with_extras_attrs_and_missing(tmp_path):
    path = tmp_path / "shard.h5"
    a = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float16)
    with SequenceWriter(path, kind="features", rate_hz=5.0) as w:
        w.write("00001", a, extras={"cls": a[0]}, rate_hz=5.0)
        w.write_missing("00002", (4,), np.float16, reason="no audio track")
    with SequenceReader(path) as r:
        assert r.ids() == ["00001", "00002"]
        np.testing.assert_array_equal(r["00001"], a)
        assert r["00001"].dtype == np.float16
        np.testing.assert_array_equal(r.extra("00001", "cls"), a[0])
        assert not r.is_missing("00001")
        assert r.is_missing("00002")
        assert r["00002"].shape == (0, 4)
        assert r.attrs("00002")["reason"] == "no audio track"
        assert r.store_attrs()["kind"] == "features"


def test_reader_merges_shards_and_names_unknown_ids(tmp_path):
    for shard, ids in (("00", ["00001", "00003"]), ("01", ["00002"])):
        with SequenceWriter(tmp_path / f"{shard}.h5") as w:
            for i in ids:
                w.write(i, np.full((2, 3), int(i), dtype=np.float32))
    r = SequenceReader(sorted(tmp_path.glob("*.h5")))
    assert r.ids() == ["00001", "00002", "00003"]
    assert r["00002"][0, 0] == 2
    with pytest.raises(KeyError, match="00009"):
        r["00009"]


def test_interrupted_writer_leaves_no_store(tmp_path):
    path = tmp_path / "shard.h5"
    with pytest.raises(RuntimeError), SequenceWriter(path) as w:
        w.write("00001", np.zeros((1, 2)))
        raise RuntimeError("job killed")
    assert not path.exists()
    assert not (tmp_path / "shard.h5.partial").exists()


def test_duplicate_ids_are_errors(tmp_path):
    with SequenceWriter(tmp_path / "a.h5") as w:
        w.write("00001", np.zeros((1, 2)))
        with pytest.raises(KeyError, match="written twice"):
            w.write("00001", np.zeros((1, 2)))
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_group("00001").create_dataset("data", data=np.zeros((1, 2)))
    with pytest.raises(KeyError, match="both"):
        SequenceReader([tmp_path / "a.h5", tmp_path / "b.h5"])


def test_missing_store_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        SequenceReader(tmp_path / "nope.h5")

"""`emibench features`: shapes, dtypes and missing entries of the three feature stores."""

import json

import numpy as np
import pytest

from emibench.cli import main
from emibench.data.store import SequenceReader
from features_fakes import MINILM, features_argv, tiny_models, write_manifest, write_shard

IDS = [f"{i:05d}" for i in range(8)]


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    root = tmp_path_factory.mktemp("extract")
    paths = write_shard(
        root,
        "train",
        0,
        IDS,
        size=32,
        missing_frames=("00001",),
        missing_audio=("00002",),
        empty_text=("00003",),
    )
    paths["manifest"] = write_manifest(root / "manifest.tsv", {("train", 0): IDS})
    paths["root"] = root
    paths["models"] = tiny_models(tmp_path_factory.getbasetemp())
    return paths


def _run(shard, out, settings, device="cpu"):
    models = shard["models"]
    argv = features_argv(
        "official",
        "train",
        shard["manifest"],
        shard,
        out,
        encoders={
            "visual": {"model_name": str(models["clip"])},
            "audio": {"name": str(models["wav2vec2"])},
            "text": {"name": MINILM, "max_length": 32},
        },
        organiser={"root": shard["root"], "source": "auto"},
        settings=settings,
        device=device,
    )
    assert main(argv) == 0
    return {m: SequenceReader(out / m) for m in "vat"}


def test_official_features_from_the_encoders(shard, tmp_path):
    stores = _run(shard, tmp_path, {"batch_size": 5, "audio_batch_size": 2})
    frames = SequenceReader(shard["frames"])
    v, a, t = stores["v"], stores["a"], stores["t"]
    assert v.store_attrs()["kind"] == "features" and v.store_attrs()["featset"] == "official"
    assert [s.store_attrs()["dim"] for s in (v, a, t)] == [64, 64, 384]
    for clip_id in IDS:
        for store in (v, a, t):
            assert clip_id in store and store[clip_id].dtype == np.float16
        if clip_id != "00001":
            n_frames = len(frames[clip_id])
            assert v[clip_id].shape == (n_frames, 64) and not v.is_missing(clip_id)
            if clip_id != "00002":
                assert a[clip_id].shape == (n_frames, 64)
                raw = a.extra(clip_id, "raw")
                assert raw.shape[1] == 64 and raw.shape[0] > 4 * n_frames  # 50 Hz vs 5 Hz
                assert a.attrs(clip_id)["raw_rate_hz"] == pytest.approx(50.0)
        if clip_id != "00003":
            tokens = t[clip_id]
            assert tokens.shape[1] == 384 and tokens.shape[0] >= 3
            np.testing.assert_array_equal(t.extra(clip_id, "cls"), tokens[0])
    assert v["00001"].shape == (0, 64) and v.is_missing("00001")
    assert v.attrs("00001")["reason"] == "decode failed: test"
    assert a["00002"].shape == (0, 64) and a.attrs("00002")["reason"] == "no audio stream"
    assert t["00003"].shape == (0, 384) and "empty transcript" in t.attrs("00003")["reason"]
    # a clip without frames still gets its audio on a uniform 5 Hz grid over its duration
    assert a["00001"].shape == (7, 64)
    assert np.isfinite(v["00000"].astype(np.float32)).all()


def test_raw_audio_is_dropped_when_not_kept(shard, tmp_path):
    stores = _run(shard, tmp_path, {"keep_raw_audio": False, "prefetch": 0})
    with pytest.raises(KeyError):
        stores["a"].extra("00000", "raw")


@pytest.mark.gpu
def test_cuda_bf16_extraction_matches_the_cpu(shard, tmp_path):
    cpu = _run(shard, tmp_path / "cpu", {"precision": "fp32"})
    gpu = _run(shard, tmp_path / "gpu", {"precision": "auto"}, device="cuda")
    for name in "vat":
        for clip_id in IDS:
            a, b = cpu[name][clip_id].astype(np.float32), gpu[name][clip_id].astype(np.float32)
            assert a.shape == b.shape and gpu[name][clip_id].dtype == np.float16
            if a.size:
                cos = (a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b))
                assert cos > 0.98


def test_one_job_writes_several_shards(shard, tmp_path, capsys):
    ids2 = ["00100", "00101"]
    second = write_shard(shard["root"] / "second", "train", 1, ids2, size=32)
    manifest = write_manifest(tmp_path / "manifest.tsv", {("train", 0): IDS, ("train", 1): ids2})
    models = shard["models"]
    argv = features_argv(
        "official",
        "train",
        manifest,
        [shard, second],
        tmp_path / "out",
        encoders={
            "visual": {"model_name": str(models["clip"])},
            "audio": {"name": str(models["wav2vec2"])},
            "text": {"name": MINILM},
        },
    )
    assert main(argv) == 0
    assert SequenceReader(tmp_path / "out" / "v" / "00.h5").ids() == IDS
    assert SequenceReader(tmp_path / "out" / "t" / "01.h5").ids() == ids2
    assert SequenceReader(tmp_path / "out" / "a").ids() == sorted(IDS + ids2)
    index = json.loads((tmp_path / "out" / "a" / "index.json").read_text())
    assert index["files"] == ["00.h5", "01.h5"] and index["clips"] == len(IDS + ids2)
    capsys.readouterr()
    job = json.loads(argv[2])
    job["outputs"]["text"]["files"] = job["outputs"]["text"]["files"][:1]
    assert main([*argv[:2], json.dumps(job), *argv[3:]]) == 1
    assert "2 shards but 1 text output files" in capsys.readouterr().err


def test_a_removed_modality_loads_no_encoder(shard, tmp_path, capsys):
    """A condition that removes audio and text: those stores take the clean stores' widths and
    every entry is missing with its reason; their encoders (here unloadable) are never loaded."""
    clean = _run(shard, tmp_path / "clean", {})
    removed = write_shard(
        shard["root"] / "removed", "train", 0, IDS, size=32, missing_audio=IDS, empty_text=IDS
    )
    models = shard["models"]
    argv = features_argv(
        "official",
        "train",
        shard["manifest"],
        removed,
        tmp_path / "out",
        encoders={
            "visual": {"model_name": str(models["clip"])},
            "audio": {"name": str(tmp_path / "no-such-model")},
            "text": {"name": str(tmp_path / "no-such-model")},
        },
        like={"audio": tmp_path / "clean" / "a", "text": tmp_path / "clean" / "t"},
    )
    capsys.readouterr()
    assert main(argv) == 0
    assert "official audio: no clip has input" in capsys.readouterr().err
    out = {m: SequenceReader(tmp_path / "out" / m) for m in "vat"}
    for m, width in (("a", 64), ("t", 384)):
        attrs = out[m].store_attrs()
        assert attrs["dim"] == width and attrs["encoder"] == clean[m].store_attrs()["encoder"]
        assert all(out[m].is_missing(i) and out[m][i].shape == (0, width) for i in IDS)
    assert out["a"].attrs("00000")["reason"] == "no audio stream"
    assert "empty transcript" in out["t"].attrs("00000")["reason"]
    assert not out["v"].is_missing("00000") and out["v"]["00000"].shape[1] == 64

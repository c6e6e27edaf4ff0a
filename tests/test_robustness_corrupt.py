"""``emibench corrupt`` on a tiny shard: every clip keeps an entry, removals are missing with
reasons, the stores say what was done, the same seed gives the same bytes."""

import json

import numpy as np
import pytest

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.data.tables import read_table
from emibench.plan.jobs import CorruptJob, StoreFolder, to_json
from emibench.robustness.audio import snr_db
from robustness_fakes import TONES, write_audio, write_frames, write_transcripts

ALL_FRAMES = [*TONES, "00006"]
ALL_AUDIO = [*TONES, "00006", "00007"]


@pytest.fixture()
def shard(tmp_path):
    return {
        "frames": write_frames(tmp_path / "frames.h5"),
        "audio": write_audio(tmp_path / "audio.h5"),
        "transcripts": write_transcripts(tmp_path / "transcripts.tsv"),
        "dir": tmp_path,
    }


def corrupt_argv(shard, name, ops, store, seed=0, tag=""):
    """`emibench corrupt --job` of one store of the one-shard split; returns the argv and the
    shard's output file (in the store's folder)."""
    folder = shard["dir"] / f"{name}{tag}_{store}"
    out = folder / ("00.tsv" if store == "transcripts" else "00.h5")
    job = CorruptJob(
        name,
        ops,
        seed,
        "valid",
        store,
        ["00"],
        [str(shard[store])],
        StoreFolder(str(folder), [str(out)]),
    )
    return ["corrupt", "--job", to_json(job)], out


def corrupt(shard, name, ops, *stores, seed=0, tag=""):
    """Run the CLI once per store; returns the output shard files by store."""
    out = {}
    for store in stores:
        argv, out[store] = corrupt_argv(shard, name, ops, store, seed, tag)
        assert main(argv) == 0
    return out


def test_occlusion_and_drop_write_every_clip_with_what_they_did(shard):
    ops = [{"op": "drop_frames", "share": 0.5}, {"op": "occlude", "share": 1.0}]
    out = corrupt(shard, "dropocc", ops, "frames")
    with SequenceReader(shard["frames"]) as clean, SequenceReader(out["frames"]) as cond:
        assert cond.ids() == clean.ids() == ALL_FRAMES
        attrs = cond.store_attrs()
        assert attrs["condition"] == "dropocc" and attrs["kind"] == "frames"
        assert json.loads(attrs["condition_spec"])[1]["region"] == "lower"
        assert attrs["robustness_seed"] == 0 and attrs["size"] == 32
        for clip_id in TONES:
            n = len(clean[clip_id])
            a = cond.attrs(clip_id)
            kept = n - min(int(np.floor(0.5 * n + 0.5)), n - 1)
            assert len(cond[clip_id]) == a["kept_frames"] == kept
            assert a["occluded_frames"] == kept and a["condition"] == "dropocc"
            assert a["source_fps"] == 25.0  # the clean attributes stay
            times = cond.extra(clip_id, "timestamps")
            assert len(times) == kept and set(times) <= set(clean.extra(clip_id, "timestamps"))
            assert cond.extra(clip_id, "face").shape == (kept,)
            assert cond.extra(clip_id, "occluded").all()
        assert cond.is_missing("00006")
        assert cond.attrs("00006")["reason"] == "no decodable video frame"


def test_every_frame_dropped_makes_a_missing_entry(shard):
    out = corrupt(shard, "noframes", [{"op": "drop_frames", "share": 1.0}], "frames")
    with SequenceReader(out["frames"]) as cond:
        for clip_id in TONES:
            assert cond.is_missing(clip_id)
            assert cond[clip_id].shape == (0, 32, 32, 3)
            assert cond.attrs(clip_id)["reason"] == "all frames dropped by condition noframes"


def test_noise_reaches_the_target_snr_in_the_store(shard):
    out = corrupt(shard, "babble0", [{"op": "noise", "snr_db": 0}], "audio")
    with SequenceReader(shard["audio"]) as clean, SequenceReader(out["audio"]) as cond:
        assert cond.ids() == ALL_AUDIO
        for clip_id in TONES:
            assert snr_db(clean[clip_id], cond[clip_id]) == pytest.approx(0, abs=0.1)
            a = cond.attrs(clip_id)
            assert a["snr_db_applied"] == pytest.approx(0, abs=0.1)
            assert a["noise_source"] == "babble" and clip_id not in json.loads(a["babble_ids"])
            # the silent clip (00007) never takes part in babble
            assert "00007" not in json.loads(a["babble_ids"])
        assert cond.is_missing("00006")
        assert np.array_equal(cond["00007"], clean["00007"])
        assert cond.attrs("00007")["noise_note"] == "digital silence"


def test_removed_audio_is_missing_with_the_condition_in_the_reason(shard):
    out = corrupt(shard, "audio_removed", [{"op": "remove_audio"}], "audio")
    with SequenceReader(out["audio"]) as cond:
        assert cond.ids() == ALL_AUDIO
        for clip_id in [*TONES, "00007"]:
            assert cond.is_missing(clip_id) and cond[clip_id].shape == (0,)
            assert cond.attrs(clip_id)["reason"] == "removed by condition audio_removed"
        assert cond.attrs("00006")["reason"] == "no audio track in raw/00006.mp4"


def test_removed_text_empties_every_row(shard):
    out = corrupt(shard, "text_removed", [{"op": "remove_text"}], "transcripts")
    table = read_table(out["transcripts"])
    assert list(table["id"]) == [*TONES, "00006"]
    assert table["text"].isna().all()  # empty fields
    assert set(table["status"]) == {"removed"}
    assert set(table["reason"]) == {"removed by condition text_removed"}


def test_same_seed_same_bytes_other_condition_or_seed_other_noise(shard):
    ops = [{"op": "occlude", "pattern": "random"}, {"op": "noise", "snr_db": 5, "source": "pink"}]
    first = corrupt(shard, "combo", ops, "frames", "audio", tag="a")
    second = corrupt(shard, "combo", ops, "frames", "audio", tag="b")
    for store in ("frames", "audio"):
        assert first[store].read_bytes() == second[store].read_bytes()
    other = corrupt(shard, "combo2", ops, "frames", "audio")
    reseeded = corrupt(shard, "combo", ops, "frames", "audio", seed=1, tag="c")
    with SequenceReader(first["audio"]) as a:
        for changed in (other, reseeded):
            with SequenceReader(changed["audio"]) as b:
                for clip_id in TONES:
                    assert not np.allclose(a[clip_id], b[clip_id])
    with SequenceReader(first["frames"]) as a, SequenceReader(other["frames"]) as b:
        flags = [np.array_equal(a.extra(c, "occluded"), b.extra(c, "occluded")) for c in TONES]
        assert not all(flags)


@pytest.mark.parametrize(
    ("ops", "store", "message"),
    [
        ([{"op": "blur"}], "audio", "changes ['frames'], not the audio store"),
        ([{"op": "noise", "snr_db": 0}, {"op": "asr"}], "transcripts", "transcribe"),
        ([{"op": "smudge"}], "frames", "unknown op"),
    ],
)
def test_cli_errors_name_what_is_wrong(shard, capfd, ops, store, message):
    argv, _ = corrupt_argv(shard, "bad", ops, store)
    assert main(argv) == 1
    assert message in capfd.readouterr().err


def test_a_split_job_writes_every_shard_and_its_index(shard):
    """One job per condition, store and split: a file per shard in one folder, then its index;
    each shard's file as its own job would write it."""
    ops = [{"op": "occlude", "share": 0.5}]
    single = corrupt(shard, "occl", ops, "frames", tag="single")["frames"]
    folder = shard["dir"] / "two"
    files = [str(folder / "00.h5"), str(folder / "01.h5")]
    job = CorruptJob(
        "occl", ops, 0, "valid", "frames", ["00", "01"], [str(shard["frames"])] * 2,
        StoreFolder(str(folder), files),
    )  # fmt: skip
    assert main(["corrupt", "--job", to_json(job)]) == 0
    index = json.loads((folder / "index.json").read_text())
    assert index["files"] == ["00.h5", "01.h5"] and index["condition"] == "occl"
    assert (folder / "00.h5").read_bytes() == single.read_bytes()
    with SequenceReader(single) as one, SequenceReader(folder / "01.h5") as other:
        assert one.store_attrs()["shard"] == 0 and other.store_attrs()["shard"] == 1

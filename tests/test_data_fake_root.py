"""The fake Hume-Vidmimic2 root: the real layout and its corners, read by the project's own readers."""

import json
import pickle

import av
import pytest

from emibench.data.fake_root import (
    FakeRootSettings,
    make_fake_root,
    plan_fake_root,
    wav2vec2_frames,
)
from emibench.data.layout import check_layout
from emibench.data.manifest import build_manifest
from emibench.emotions import EMOTIONS
from emibench.settings import ConfigError

SMALL = FakeRootSettings(
    clips={"train": 3, "valid": 2, "test": 2}, long_clip_s=20.0, no_audio={"train": 1}
)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_fake_root(tmp_path_factory.mktemp("fake") / "root", SMALL)


@pytest.fixture(scope="module")
def manifest(root):
    return build_manifest(root, {"train": 1, "valid": 1, "test": 1}).set_index("id")


def test_split_files_as_in_the_real_set(root):
    train = (root / "train_split.csv").read_text().splitlines()
    assert train[0] == "Filename," + ",".join(EMOTIONS)
    assert [line.split(",")[0] for line in train[1:]] == ["0", "1", "2"]
    assert (root / "test_split.csv").read_text().splitlines() == ["Filename", "5", "6"]
    assert not (root / "test_labels.csv").exists() and not (root / "latents.csv").exists()
    report = check_layout(root)
    assert report["warnings"] == [] and report["splits"]["test"]["labelled"] is False


def test_corners(root, manifest):
    corners = json.loads((root / "fake_root.json").read_text())["corners"]
    assert corners == {
        "long": "00002",
        "no_audio_track": "00004",
        "shorter_than_a_frame_step": "00006",
    }
    assert manifest.loc["00002", "duration_s"] == pytest.approx(20.0, abs=0.3)
    assert not manifest.loc["00004", "has_audio"]
    assert not (root / "wav2vec2" / "00004.pkl").exists()
    assert manifest.loc["00006", "duration_s"] < 0.2
    assert (manifest["status"] == "ok").all()


def test_media_codecs_mp3_side_files_and_organiser_features(root, manifest):
    with av.open(str(root / "raw" / "00000.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    mp3s = sorted(p.stem for p in (root / "audio").iterdir())
    assert mp3s and all(p.suffix == ".mp3" for p in (root / "audio").iterdir())
    with av.open(str(root / "audio" / f"{mp3s[0]}.mp3")) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == ("mp3float", 16000, 1)
    assert (manifest.loc[mp3s, "audio_source"] == "file").all()
    for clip_id, row in manifest.iterrows():
        with open(root / "vit" / f"{clip_id}.pkl", "rb") as handle:
            vit = pickle.load(handle)
        assert vit.shape == (row["n_video_frames"], 384)
        if row["has_audio"]:
            with open(root / "wav2vec2" / f"{clip_id}.pkl", "rb") as handle:
                w2v = pickle.load(handle)
            # ~50 rows/s of the clip (the probed duration includes the container's padding)
            assert w2v.shape[1] == 768
            assert abs(w2v.shape[0] - wav2vec2_frames(row["duration_s"])) <= 1


def test_varied_rates_sizes_and_speech(root, manifest):
    record = json.loads((root / "fake_root.json").read_text())
    assert record["clips"] == 7 and manifest["fps"].nunique() > 1
    # every clip with a soundtrack but the 0.12 s one speaks
    assert sorted(record["speech"]) == ["00000", "00002", "00003", "00005"]
    assert all(len(text.split()) >= 2 for text in record["speech"].values())
    assert manifest[["width", "height"]].drop_duplicates().shape[0] > 1


def test_clips_without_audio_beside_the_corners(root, manifest):
    """no_audio: {train: 1} takes the soundtrack (stream, mp3, wav2vec2 pickle) of one ordinary
    train clip, as the real set's clips without audio; its video and vit pickle stay."""
    record = json.loads((root / "fake_root.json").read_text())
    assert record["no_audio"] == {"train": ["00001"]}
    assert record["settings"]["no_audio"] == {"train": 1}
    assert not manifest.loc["00001", "has_audio"] and manifest.loc["00001", "status"] == "ok"
    with av.open(str(root / "raw" / "00001.mp4")) as container:
        assert not container.streams.audio and container.streams.video
    assert not (root / "audio" / "00001.mp3").exists()
    assert not (root / "wav2vec2" / "00001.pkl").exists()
    assert (root / "vit" / "00001.pkl").exists()
    assert manifest.loc[["00000", "00002"], "has_audio"].all()


def test_no_audio_is_drawn_with_the_seed_among_ordinary_clips():
    clips = {"train": 34, "valid": 4, "test": 2}

    def silent(settings):
        return [p.id for p in plan_fake_root(settings) if not p.has_audio_track]

    plain = FakeRootSettings(clips=clips)
    with_none = silent(plain)  # the valid corner only
    assert with_none == [37]
    unkind = FakeRootSettings(clips=clips, no_audio={"train": 30})
    ids = silent(unkind)
    assert ids == silent(FakeRootSettings(clips=clips, no_audio={"train": 30}))
    train = [i for i in ids if i < 34]
    assert len(train) == 30 and 33 not in train  # the long corner keeps its soundtrack
    assert ids != silent(FakeRootSettings(clips=clips, no_audio={"train": 30}, seed=1))
    plans = {p.id: p for p in plan_fake_root(unkind)}
    assert all(not plans[i].has_audio_file and not plans[i].phrases for i in train)
    everything = FakeRootSettings(clips=clips, no_audio={"train": 33, "test": 1})
    # every ordinary train clip, the valid corner, one test clip; the 0.12 s corner keeps its track
    assert len(silent(everything)) == 33 + 1 + 1
    for bad in ({"train": 34}, {"valid": -1}, {"tests": 1}):
        with pytest.raises(ConfigError, match="no_audio"):
            FakeRootSettings(clips=clips, no_audio=bad)


def test_refuses_a_root_that_is_not_fake(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "00000.mp4").write_bytes(b"real")
    with pytest.raises(FileExistsError, match="not a fake root"):
        make_fake_root(tmp_path, SMALL)
    with pytest.raises(ConfigError, match="clips.valid"):
        FakeRootSettings(clips={"train": 3, "valid": 1, "test": 2})

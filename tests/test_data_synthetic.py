"""The synthetic Hume-Vidmimic2 generator: layout, media, speech, labels, determinism."""

import csv
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from emibench.data.manifest import build_manifest
from emibench.data.synthetic import face, phrases, soundtrack
from emibench.data.synthetic.generate import generate, plan_dataset
from emibench.data.synthetic.labels import synth_labels
from emibench.data.synthetic.settings import SynthSettings
from emibench.emotions import EMOTIONS
from emibench.settings import settings_from

HEADER = ["Filename", *EMOTIONS]
SCHEMA = Path(__file__).parents[1] / "config" / "schema" / "synthetic.schema.yaml"
TINY = {
    "seed": 3,
    "clips": {"train": 6, "valid": 3, "test": 3},
    "subjects": {"train": 3, "valid": 2, "test": 2},
    "duration_s": [2.5, 3.5],
    "snr_db": [20.0, 30.0],
    "silent_share": 0.2,
    "no_audio_track_share": 0.2,
    "audio_file_share": 0.5,
    "edge_cases": True,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny synthetic set made with a process pool of two workers."""
    root = tmp_path_factory.mktemp("synthetic") / "root"
    generate(settings_from(SynthSettings, TINY, "synthetic"), root, threads=2)
    return root


@pytest.fixture(scope="module")
def latents(tiny):
    return pd.read_csv(tiny / "latents.csv", dtype={"id": str}, keep_default_na=False)


def _header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def _decode_audio(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray() for frame in container.decode(stream)]
        return np.concatenate(chunks, axis=1), stream.codec_context.sample_rate


def _frame_rms(x, rate, seconds=0.05):
    n = int(rate * seconds)
    frames = x[: len(x) // n * n].reshape(-1, n)
    return np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))


def test_layout(tiny, latents):
    for name in ("train_split.csv", "valid_split.csv"):
        assert _header(tiny / name) == HEADER
    assert _header(tiny / "test_split.csv") == ["Filename"]
    assert _header(tiny / "test_labels.csv") == HEADER
    splits = {s: pd.read_csv(tiny / f"{s}_split.csv") for s in ("train", "valid", "test")}
    ids = [int(i) for s in ("train", "valid", "test") for i in splits[s]["Filename"]]
    assert ids == list(range(len(ids)))  # consecutive over train, valid, test
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [6, 3 + 4, 3 + 3]
    test_labels = pd.read_csv(tiny / "test_labels.csv")
    assert list(test_labels["Filename"]) == list(splits["test"]["Filename"])
    for clip_id in ids:
        assert (tiny / "raw" / f"{clip_id:05d}.mp4").is_file()
    assert list(latents["id"]) == [f"{i:05d}" for i in ids]
    assert {f"latent_{e}" for e in EMOTIONS} <= set(latents.columns)
    for column in (
        "occluded",
        "silent",
        "has_audio_track",
        "snr_db",
        "fps",
        "duration_s",
        "width",
        "height",
        "edge_case",
        "subject",
        "transcript",
    ):
        assert column in latents.columns
    by_split = latents.groupby("split")["subject"].apply(set)
    assert not (
        by_split["train"] & by_split["valid"]
        or by_split["train"] & by_split["test"]
        or by_split["valid"] & by_split["test"]
    )
    edges = latents[latents["edge_case"] != ""]
    assert set(edges["split"]) == {"valid", "test"} and len(edges) == 7
    wavs = sorted((tiny / "audio").glob("*.wav"))
    with_file = latents[latents["has_audio_file"].astype(str) == "True"]
    assert [p.stem for p in wavs] == list(with_file["id"]) and wavs
    info = sf.info(str(wavs[0]))
    assert info.samplerate == 16000 and info.channels == 1
    bank = (tiny / "phrases.txt").read_text().splitlines()
    assert bank == phrases.phrase_bank() and all(p == p.lower() for p in bank)
    spoken = " ".join(latents["transcript"])
    assert set(spoken.split()) <= {w for p in bank for w in p.split()}


def test_mp4_decodes_with_video_and_audio(tiny, latents):
    regular = latents[
        (latents["edge_case"] == "") & (latents["has_audio_track"].astype(str) == "True")
    ]
    row = regular.iloc[0]
    path = tiny / "raw" / f"{row['id']}.mp4"
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == row["n_frames"]
    assert frames[0].shape == (row["height"], row["width"], 3)
    assert np.std(frames[len(frames) // 2]) > 10  # a drawn face, not a flat frame
    audio, rate = _decode_audio(path)
    assert rate == row["audio_rate"] and audio.shape[0] == 1
    assert abs(audio.shape[1] / rate - row["duration_s"]) < 0.15
    no_track = latents[latents["has_audio_track"].astype(str) == "False"]
    assert len(no_track) > 0
    with av.open(str(tiny / "raw" / f"{no_track.iloc[0]['id']}.mp4")) as container:
        assert not container.streams.audio and container.streams.video


def test_speech_is_audible_above_noise(tiny, latents):
    speaking = latents[(latents["transcript"] != "") & (latents["edge_case"] == "")]
    silent = latents[(latents["silent"].astype(str) == "True") & (latents["edge_case"] == "")]
    assert len(speaking) and len(silent)
    audio, rate = _decode_audio(tiny / "raw" / f"{speaking.iloc[0]['id']}.mp4")
    rms = _frame_rms(audio[0], rate)
    assert np.percentile(rms, 90) > 5 * np.percentile(rms, 10)  # speech well above the floor
    audio, rate = _decode_audio(tiny / "raw" / f"{silent.iloc[0]['id']}.mp4")
    rms = _frame_rms(audio[0], rate)
    assert np.percentile(rms, 90) < 3 * np.percentile(rms, 10)  # stationary noise only


def test_manifest_meets_the_edge_cases(tiny, latents):
    manifest = build_manifest(tiny, {"train": 2, "valid": 2, "test": 1}, threads=1)
    assert len(manifest) == len(latents)
    edge = dict(zip(latents["id"], latents["edge_case"]))
    row = {edge[r.id]: r for r in manifest.itertuples() if edge[r.id]}
    assert row["truncated"].status == "broken" and "truncated" in row["truncated"].reason
    assert row["truncated_nomoov"].status == "broken"
    assert (row["portrait"].width, row["portrait"].height) == (480, 640)
    assert row["portrait"].audio_channels in (1, 2)
    assert abs(row["ntsc"].fps - 30000 / 1001) < 1e-3 and row["fps60"].fps == 60
    assert row["tiny"].duration_s < 0.2 and row["long"].duration_s > 120
    ok = manifest[manifest["status"] == "ok"]
    assert (ok["n_video_frames"] > 0).all()
    assert manifest.loc[manifest["split"] == "test", list(EMOTIONS)].isna().all(axis=None)
    train = pd.read_csv(tiny / "train_split.csv")
    joined = manifest[manifest["split"] == "train"]
    np.testing.assert_allclose(joined[list(EMOTIONS)].to_numpy(), train[list(EMOTIONS)].to_numpy())


def test_same_seed_same_dataset(tiny, tmp_path):
    again = tmp_path / "again"
    generate(settings_from(SynthSettings, TINY, "synthetic"), again, threads=1)
    for name in (
        "train_split.csv",
        "valid_split.csv",
        "test_split.csv",
        "test_labels.csv",
        "latents.csv",
        "phrases.txt",
    ):
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
    other = plan_dataset(settings_from(SynthSettings, {**TINY, "seed": 4}, "synthetic"))
    same = plan_dataset(settings_from(SynthSettings, TINY, "synthetic"))
    assert any(not np.array_equal(a.labels, b.labels) for a, b in zip(other, same))


def test_label_statistics():
    settings = SynthSettings()
    rng = np.random.default_rng(0)
    latent, labels = synth_labels(
        rng, 4000, settings.nonzero_share, settings.excitement_joy_corr, settings.annotators
    )
    assert labels.shape == (4000, 6) and latent.shape == (4000, 6)
    assert labels.min() >= 0 and labels.max() <= 1
    k = labels * settings.annotators
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # fractions k/N
    shares = (labels > 0).mean(axis=0)
    for emotion, share in zip(EMOTIONS, shares):
        assert abs(share - settings.nonzero_share[emotion]) < 0.03, emotion
    r = np.corrcoef(labels.T)
    exc, joy = EMOTIONS.index("Excitement"), EMOTIONS.index("Joy")
    assert abs(r[exc, joy] - 0.23) < 0.06
    off = r[~np.eye(6, dtype=bool)].reshape(6, 5)
    others = [abs(r[i, j]) for i in range(6) for j in range(6) if i < j and {i, j} != {exc, joy}]
    assert max(others) < 0.08 and off.shape == (6, 5)
    assert ((latent > 0) == (labels > 0)).all()  # latents drive the labels


def test_modalities_follow_the_latents():
    rng = np.random.default_rng(1)
    look = face.sample_look(rng)
    t = np.arange(100) / 25
    joy = np.zeros(6)
    joy[EMOTIONS.index("Joy")] = 1.0
    smile = face.EXPRESSIONS.index("smile")
    happy, _ = face.expression_track(rng, joy, look, t, strength=1.0)
    neutral, _ = face.expression_track(rng, np.zeros(6), look, t, strength=1.0)
    assert happy[:, smile].mean() > neutral[:, smile].mean() + 0.3
    voice = soundtrack.Voice("en-us", (50.0, 170.0, 100.0, 50.0, 0.1, 0.05, 0.05))
    excited = np.zeros(6)
    excited[EMOTIONS.index("Excitement")] = 1.0
    pitch_up = soundtrack.clip_prosody(rng, voice, excited, strength=1.0)
    assert pitch_up[0] > 60 and pitch_up[1] > 200  # higher pitch, faster
    pain = np.zeros(6)
    pain[EMOTIONS.index("Empathic Pain")] = 1.0
    sighs = soundtrack.clip_prosody(rng, voice, pain, strength=1.0)
    assert sighs[soundtrack.PROSODY.index("sigh")] > 1.0  # a full sigh after each phrase
    said = [phrases.sample_phrase(rng, pain, strength=0.9)[1] for _ in range(200)]
    assert said.count("Empathic Pain") > 150
    assert (
        phrases.intensity_word(0.1) == "slightly" and phrases.intensity_word(0.95) == "incredibly"
    )


def test_transcript_names_the_emotions_in_order_of_intensity():
    rng = np.random.default_rng(0)
    latents = np.zeros(6)
    latents[EMOTIONS.index("Joy")] = 0.9
    latents[EMOTIONS.index("Admiration")] = 0.2
    said = [phrases.sample_phrase(rng, latents, 1.0, position=k) for k in range(4)]
    assert [emotion for _, emotion in said] == ["Joy", "Admiration", "Joy", "Admiration"]
    assert "incredibly" in said[0][0] and "slightly" in said[1][0]
    assert said[0][0] != said[2][0]  # the second mention takes the next template
    neutral = {phrases.sample_phrase(rng, np.zeros(6), 1.0, position=k)[1] for k in range(3)}
    assert neutral == {None}
    random = [phrases.sample_phrase(rng, latents, 0.0)[1] for _ in range(300)]
    assert 0.05 < random.count("Joy") / 300 < 0.3  # independent of the latents


def test_vocal_bursts_follow_their_amounts():
    rng = np.random.default_rng(0)
    rate = soundtrack.SPEECH_RATE
    assert not soundtrack.vocal_burst(0.1, 0.0, 0.0, 0.0, rng, rate).any()
    for amounts in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)):
        burst = soundtrack.vocal_burst(0.1, *amounts, rng, rate)
        assert len(burst) == round(soundtrack.BURST_S * rate)
        assert 0.02 < np.sqrt(np.mean(burst**2)) < 0.3
    half = soundtrack.vocal_burst(0.1, 0.0, 0.0, 0.5, np.random.default_rng(1), rate)
    full = soundtrack.vocal_burst(0.1, 0.0, 0.0, 1.0, np.random.default_rng(1), rate)
    np.testing.assert_allclose(2 * half, full, rtol=1e-5, atol=1e-7)


def test_settings_defaults_match_schema():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    defaults = SynthSettings().to_dict()
    for key, spec in schema.items():
        if key == "threads":
            continue
        if spec.get("type") == "object":
            value = {k: v["default"] for k, v in spec["properties"].items()}
        else:
            value = spec["default"]
        assert defaults[key] == value, key
    assert set(schema) - {"threads"} == set(defaults)
    with pytest.raises(ValueError, match="unknown"):
        settings_from(SynthSettings, {"clip": 3}, "synthetic")
    with pytest.raises(ValueError, match="duration_s"):
        settings_from(SynthSettings, {"duration_s": [5, 2]}, "synthetic")


def test_refuses_to_overwrite_a_real_root(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "00000.mp4").write_bytes(b"real data")
    with pytest.raises(FileExistsError, match="not a synthetic dataset"):
        generate(settings_from(SynthSettings, TINY, "synthetic"), tmp_path)
    assert (tmp_path / "raw" / "00000.mp4").read_bytes() == b"real data"

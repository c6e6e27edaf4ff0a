"""The per-shard commands end to end on a small manifest with odd clips (in-process CLI calls)."""

import json

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emibench.cli import main
from emibench.data.store import SequenceReader
from emibench.data.synthetic.speech import speak
from emibench.data.tables import read_table, write_table
from emibench.media.sample_clips import tone, write_clip

SAID = "we can do this together"


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shard")
    speech, rate = speak(SAID)
    speech = librosa.resample(speech, orig_sr=rate, target_sr=16000)
    speech = np.concatenate([np.zeros(3200, np.float32), speech, np.zeros(3200, np.float32)])
    junk = tmp / "junk.mp4"
    junk.write_bytes(b"\x00junk" * 200)
    wav = tmp / "00004.wav"
    sf.write(wav, tone(0.5, 16000), 16000)
    clips = {
        "00000": (
            write_clip(tmp / "00000.mp4", len(speech) / 16000, 25, audio=speech, audio_rate=16000),
            "",
            "ok",
            "",
        ),
        "00001": (
            write_clip(tmp / "00001.mp4", 1.0, 25, size=(96, 128)),
            "",
            "ok",
            "",
        ),  # portrait, no audio
        "00002": (junk, "", "broken", "moov atom not found"),
        "00003": (junk, "", "ok", ""),  # the manifest missed it: undecodable
        "00004": (write_clip(tmp / "00004.mp4", 0.1, 60, audio=tone(0.1, 44100)), wav, "ok", ""),
    }
    rows = [
        {
            "id": i,
            "split": "test",
            "shard": 0,
            "video_path": str(v),
            "audio_path": str(a),
            "status": s,
            "reason": r,
        }
        for i, (v, a, s, r) in clips.items()
    ]
    manifest = tmp / "manifest.tsv"
    write_table(pd.DataFrame(rows), manifest)
    phrases = tmp / "phrases.txt"
    phrases.write_text("we can do this together\nthat is really amazing\nnever give up\n")
    return tmp, manifest, phrases


def run(*argv):
    assert main(list(map(str, argv))) == 0


def test_frames_audio_transcribe(shard, capfd):
    tmp, manifest, phrases = shard
    common = ["--manifest", manifest, "--split", "test", "--shard", 0]
    frames_cfg = json.dumps(
        {"rate_hz": 5, "max_frames": 6, "size": 32, "face": {"detector": "haar"}}
    )
    run("frames", *common, "--out", tmp / "frames.h5", "--config", frames_cfg)
    run("audio", *common, "--out", tmp / "audio.h5", "--config", '{"max_seconds": 30}')
    run(
        "transcribe",
        *common,
        "--audio",
        tmp / "audio.h5",
        "--out",
        tmp / "t.tsv",
        "--config",
        '{"backend": "pocketsphinx"}',
        "--phrases",
        phrases,
    )
    log = capfd.readouterr().err
    assert "frames test/0: 3 clips done, 2 missing/failed" in log
    assert "portrait=1" in log and "under_0.2s=1" in log and "capped=1" in log and "fps_60=1" in log
    assert "audio test/0: 2 clips done, 3 missing/failed" in log and "no_audio_track=1" in log
    assert "vocabulary restricted to the phrase bank" in log

    with SequenceReader(tmp / "frames.h5") as store:
        assert store.ids() == ["00000", "00001", "00002", "00003", "00004"]
        assert store.store_attrs()["kind"] == "frames" and store.store_attrs()["size"] == 32
        assert store["00000"].shape == (6, 32, 32, 3) and store.attrs("00000")["capped"]
        assert store.extra("00000", "timestamps").dtype == np.float32
        assert store.extra("00000", "face").dtype == bool
        assert store["00001"].shape == (5, 32, 32, 3) and store.attrs("00001")["height"] == 128
        assert store["00004"].shape == (1, 32, 32, 3) and store.attrs("00004")["source_fps"] == 60
        assert store.is_missing("00002") and store.attrs("00002")["reason"] == "moov atom not found"
        assert store.is_missing("00003") and "junk.mp4" in store.attrs("00003")["reason"]
        assert store["00003"].shape == (0, 32, 32, 3)

    with SequenceReader(tmp / "audio.h5") as store:
        assert store.store_attrs()["rate_hz"] == 16000
        assert (
            store.attrs("00000")["source"] == "mp4" and store.attrs("00000")["sample_rate"] == 16000
        )
        assert store.attrs("00004")["source"] == "file" and len(store["00004"]) == 8000
        for clip_id in ("00001", "00002", "00003"):
            assert store.is_missing(clip_id) and store[clip_id].shape == (0,)
            assert store.attrs(clip_id)["source"] == "none"
        assert "no audio track" in store.attrs("00001")["reason"]

    table = read_table(tmp / "t.tsv").fillna({"text": ""}).set_index("id")
    assert table.loc["00000", "text"] == SAID and table.loc["00000", "status"] == "ok"
    assert table.loc["00001", "status"] == "no_audio" and table.loc["00001", "text"] == ""
    assert (table.loc[["00002", "00003"], "status"] == "no_audio").all()
    assert (table["backend"] == "pocketsphinx").all()

"""The transcription shard job: every clip gets a row; no audio, silence and failures are flagged."""

import numpy as np
import pandas as pd
import pytest

from emibench.asr.base import COLUMNS, Transcriber, Transcript
from emibench.asr.settings import AsrSettings
from emibench.asr.transcribe import merge_transcripts, transcribe_shard
from emibench.data.store import SequenceWriter
from emibench.data.tables import read_table, write_table
from emibench.settings import settings_from


class LengthTranscriber(Transcriber):
    """Says how many samples it heard; raises on clips of exactly 999 samples."""

    name = "length"

    def __init__(self):
        self.calls = []

    def transcribe(self, batch):
        self.calls.append([clip_id for clip_id, _ in batch])
        if any(len(samples) == 999 for _, samples in batch):
            raise RuntimeError("bad clip")
        return [Transcript(clip_id, f"n {len(s)}", "xx", 0.5, self.name) for clip_id, s in batch]


def manifest(tmp_path, ids):
    rows = [
        {
            "id": i,
            "split": "valid",
            "shard": 0,
            "video_path": "",
            "audio_path": "",
            "status": "ok",
            "reason": "",
        }
        for i in ids
    ]
    rows.append({**rows[0], "id": "09999", "shard": 1})  # another shard: not ours
    path = tmp_path / "manifest.tsv"
    write_table(pd.DataFrame(rows), path)
    return path


def test_statuses_and_failures(tmp_path):
    ids = ["00001", "00002", "00003", "00004", "00005", "00006"]
    with SequenceWriter(tmp_path / "audio.h5", kind="audio", rate_hz=16000) as store:
        store.write("00001", np.full(16000, 0.1, np.float32), sample_rate=16000, source="mp4")
        store.write_missing(
            "00002", (), np.float32, "no audio track in x.mp4", sample_rate=16000, source="none"
        )
        store.write(
            "00003", np.zeros(8000, np.float32), sample_rate=16000, source="mp4"
        )  # digital silence
        store.write(
            "00004", np.full(999, 0.1, np.float32), sample_rate=16000, source="mp4"
        )  # backend fails
        store.write(
            "00005", np.full(8000, 0.1, np.float32), sample_rate=8000, source="file"
        )  # resampled
        # 00006 absent from the store
    backend = LengthTranscriber()
    out = tmp_path / "t.tsv"
    report = transcribe_shard(
        manifest(tmp_path, ids), "valid", 0, tmp_path / "audio.h5", out, backend, batch_size=8
    )
    table = read_table(out).fillna({"text": "", "reason": ""})
    assert list(table.columns) == list(COLUMNS) and table["id"].tolist() == ids
    status = dict(zip(table["id"], table["status"]))
    assert status == {
        "00001": "ok",
        "00002": "no_audio",
        "00003": "empty_audio",
        "00004": "failed",
        "00005": "ok",
        "00006": "no_audio",
    }
    row = table.set_index("id")
    assert row.loc["00001", "text"] == "n 16000" and row.loc["00005", "text"] == "n 16000"
    assert (
        "no audio track" in row.loc["00002", "reason"] and "bad clip" in row.loc["00004", "reason"]
    )
    assert row.loc["00003", "text"] == "" and (table["backend"] == "length").all()
    assert backend.calls[0] == ["00001", "00004", "00005"]  # one batch, then clip by clip
    assert report.done == 2 and report.missing == 4


def test_merge_checks_and_sorts(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    write_table(pd.DataFrame([Transcript("00003", "x").row()]), a)
    write_table(pd.DataFrame([Transcript("00001", "y").row()]), b)
    merged = merge_transcripts([a, b], tmp_path / "all.tsv")
    assert merged["id"].tolist() == ["00001", "00003"]
    with pytest.raises(ValueError, match="more than one"):
        merge_transcripts([a, a], tmp_path / "dup.tsv")
    write_table(pd.DataFrame({"id": ["1"], "txt": ["z"]}), tmp_path / "bad.tsv")
    with pytest.raises(ValueError, match="bad.tsv"):
        merge_transcripts([tmp_path / "bad.tsv"], tmp_path / "x.tsv")


def test_settings_reject_unknown_keys():
    with pytest.raises(ValueError, match="preprocess.asr: unknown key"):
        settings_from(AsrSettings, '{"backend": "whisper", "modle": "x"}', "preprocess.asr")
    with pytest.raises(ValueError, match="needs a model"):
        settings_from(AsrSettings, {"backend": "whisper"}, "preprocess.asr")


def test_transcript_sets_lay_each_sets_changes_over_the_default_asr_section():
    from emibench.asr.settings import DEFAULT_SET, AsrSettings, TranscriptSets
    from emibench.settings import ConfigError

    asr = {"backend": "whisper", "model": "openai/whisper-large-v3-turbo", "batch_size": 16}
    taemi = {"model": "openai/whisper-large-v3", "num_beams": 5, "first_segment_only": True}
    sets = TranscriptSets.from_config(asr, {"taemi": taemi})
    assert sorted(sets.sets) == [DEFAULT_SET, "taemi"]
    assert sets[DEFAULT_SET] == AsrSettings(**asr)
    assert sets["taemi"] == AsrSettings(**{**asr, **taemi})
    assert sets.config("taemi")["batch_size"] == 16 and sets.config("taemi")["num_beams"] == 5
    assert TranscriptSets.from_config(asr, None).sets == {DEFAULT_SET: AsrSettings(**asr)}
    with pytest.raises(ConfigError, match="no transcript set 'other'"):
        sets["other"]
    with pytest.raises(ConfigError, match=r"transcript_sets.taemi: unknown key\(s\) \['beams'\]"):
        TranscriptSets.from_config(asr, {"taemi": {"beams": 5}})
    with pytest.raises(ConfigError, match="preprocess.asr's set"):
        TranscriptSets.from_config(asr, {"default": {"num_beams": 5}})
    with pytest.raises(ConfigError, match="transcript_sets.ps: .*first_segment_only needs"):
        TranscriptSets.from_config(
            asr, {"ps": {"backend": "pocketsphinx", "first_segment_only": True}}
        )


def test_the_schema_of_a_transcript_set_has_the_keys_of_the_asr_section():
    """preprocess.transcript_sets repeats preprocess.asr's keys and their types without defaults
    (a set's defaults are preprocess.asr's values); both match AsrSettings."""
    import dataclasses
    from pathlib import Path

    import yaml

    from emibench.asr.settings import AsrSettings

    schema = yaml.safe_load(
        (Path(__file__).parents[1] / "config/schema/preprocess.schema.yaml").read_text()
    )
    asr = schema["properties"]["asr"]["properties"]
    change = schema["properties"]["transcript_sets"]["additionalProperties"]["properties"]
    assert set(asr) == set(change) == {f.name for f in dataclasses.fields(AsrSettings)}
    assert not [k for k, v in change.items() if "default" in v]
    for key, value in change.items():
        own = {k: v for k, v in asr[key].items() if k not in ("default", "description")}
        assert own == {k: v for k, v in value.items() if k != "description"}, key

"""Whisper through the real loading code, on a tiny random-initialised model made by the test."""

import math

import numpy as np
import pytest

from emibench.asr.tiny_whisper import make_tiny_whisper
from emibench.asr.whisper import WhisperTranscriber


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    return make_tiny_whisper(tmp_path_factory.mktemp("models") / "whisper")


def test_tiny_model_loads_in_the_stock_pipeline(tiny_whisper):
    from transformers import pipeline

    asr = pipeline("automatic-speech-recognition", model=str(tiny_whisper), device="cpu")
    out = asr(np.zeros(16000, np.float32), generate_kwargs={"max_new_tokens": 4})
    assert isinstance(out["text"], str)


def test_transcriber_returns_strings_language_and_confidence(tiny_whisper):
    rng = np.random.default_rng(0)
    batch = [
        ("00000", rng.normal(0, 0.1, 16000 * 2).astype(np.float32)),
        ("00001", rng.normal(0, 0.1, 1600).astype(np.float32)),
        ("00002", rng.normal(0, 0.1, 16000 * 40).astype(np.float32)),  # two chunks of 30 s
    ]
    transcriber = WhisperTranscriber(
        str(tiny_whisper), device="cpu", batch_size=2, max_new_tokens=6
    )
    results = transcriber.transcribe(batch)
    assert [r.id for r in results] == ["00000", "00001", "00002"]
    for r in results:
        assert isinstance(r.text, str) and r.text  # the tiny model writes gibberish, never nothing
        assert r.backend == "whisper" and r.status == "ok"
        assert len(r.language) in (2, 3)  # a detected Whisper language code
        assert 0.0 < r.confidence <= 1.0 and not math.isnan(r.confidence)
    # long-form: the 40 s clip went through the pipeline as two chunks, each scored
    out = transcriber.pipe(
        {"raw": batch[2][1], "sampling_rate": 16000},
        chunk_length_s=30,
        ignore_warning=True,
        generate_kwargs=dict(transcriber.generate_kwargs),
    )
    assert len(out["n_tokens"]) == 2 and all(int(n) > 0 for n in out["n_tokens"])


def test_forced_language_and_beam_search(tiny_whisper):
    transcriber = WhisperTranscriber(
        str(tiny_whisper), device="cpu", language="en", num_beams=2, max_new_tokens=4
    )
    (result,) = transcriber.transcribe([("00000", np.zeros(8000, np.float32) + 0.01)])
    assert result.language == "en" and 0.0 < result.confidence <= 1.0


def test_missing_model_is_named_not_downloaded(tmp_path):
    from emibench.model_source import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="preprocess.asr.model"):
        WhisperTranscriber(str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(ModelNotFoundError, match="hub cache"):
        WhisperTranscriber("openai/no-such-whisper", device="cpu")

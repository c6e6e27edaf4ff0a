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


@pytest.fixture(scope="module")
def tiny_whisper_with_timestamps(tiny_whisper, tmp_path_factory):
    """The tiny Whisper with its timestamp tokens allowed: its generation config suppresses them
    (random weights would otherwise write timestamps for text), so decoding with timestamps could
    not cut segments."""
    import shutil

    from transformers import GenerationConfig

    out = tmp_path_factory.mktemp("models") / "whisper_timestamps"
    shutil.copytree(tiny_whisper, out)
    config = GenerationConfig.from_pretrained(out)
    config.suppress_tokens = [
        t for t in config.suppress_tokens if t <= config.no_timestamps_token_id
    ]
    config.save_pretrained(out)
    return out


@pytest.mark.parametrize("num_beams", [1, 5])
def test_first_segment_only_keeps_the_first_timestamped_segment(
    tiny_whisper_with_timestamps, num_beams
):
    """TAEMI's authors' transcripts: beam 5, the first segment of Whisper's timestamped output."""
    rng = np.random.default_rng(1)
    batch = [
        ("00000", rng.normal(0, 0.1, 16000 * 3).astype(np.float32)),
        ("00001", rng.normal(0, 0.1, 16000 * 40).astype(np.float32)),  # two 30 s windows
    ]
    options = {"device": "cpu", "num_beams": num_beams, "max_new_tokens": 12, "batch_size": 2}
    first = WhisperTranscriber(
        str(tiny_whisper_with_timestamps), first_segment_only=True, **options
    )
    assert "first segment only" in first.describe()
    results = first.transcribe(batch)
    for (clip_id, samples), result in zip(batch, results, strict=True):
        full = first.pipe(
            {"raw": samples, "sampling_rate": 16000},
            chunk_length_s=30,
            ignore_warning=True,
            return_timestamps=True,
            generate_kwargs=dict(first.generate_kwargs),
        )
        assert len(full["chunks"]) > 1  # the segments the rest of the clip would add
        assert result.id == clip_id and result.text == full["chunks"][0]["text"].strip()
        assert 0.0 < result.confidence <= 1.0 and len(result.language) in (2, 3)
        # the confidence is the first window's first segment's alone
        windows = len(full["n_tokens"])
        assert windows == (2 if clip_id == "00001" else 1)
        n_first, logprob = int(full["n_tokens"][0].sum()), float(full["logprob_sum"][0].sum())
        assert n_first > 0 and result.confidence == pytest.approx(math.exp(logprob / n_first))


def test_first_segment_only_needs_whisper():
    from emibench.asr.settings import AsrSettings

    with pytest.raises(ValueError, match="first_segment_only needs backend whisper"):
        AsrSettings(backend="pocketsphinx", first_segment_only=True)

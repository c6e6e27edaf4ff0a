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
def test_first_segment_only_decodes_the_first_window_once(tiny_whisper_with_timestamps, num_beams):
    """TAEMI's authors' transcripts: beam 5, the first segment of the first window's timestamped
    decoding; the text and confidence are those of Whisper's own segmentation of that window
    (its long-form loop), for one encoder pass a batch."""
    import torch

    rng = np.random.default_rng(1)
    batch = [
        ("00000", rng.normal(0, 0.1, 16000 * 3).astype(np.float32)),
        ("00001", rng.normal(0, 0.1, 16000 * 40).astype(np.float32)),  # two 30 s windows
    ]
    options = {"device": "cpu", "num_beams": num_beams, "max_new_tokens": 12, "batch_size": 2}
    first = WhisperTranscriber(
        str(tiny_whisper_with_timestamps), first_segment_only=True, language="en", **options
    )
    assert "first segment only" in first.describe()
    model, tokenizer = first.pipe.model, first.pipe.tokenizer
    encoded = []
    hook = model.model.encoder.register_forward_hook(lambda *_: encoded.append(1))
    results = first.transcribe(batch)
    assert len(encoded) == 1  # both clips, one batch, their first window alone (language set)

    kwargs = {k: v for k, v in first.generate_kwargs.items() if k != "force_unique_generate_call"}
    segmented = 0
    for (clip_id, samples), result in zip(batch, results, strict=True):
        window = first.pipe.feature_extractor(
            samples[: 30 * 16000], sampling_rate=16000, return_tensors="pt"
        )
        encoded.clear()
        out = model.generate(
            window.input_features, return_timestamps=True, return_segments=True, **kwargs
        )
        segmented += len(encoded) > 1 or len(out["segments"][0]) > 1
        segment = out["segments"][0][0]
        text = tokenizer.decode(segment["tokens"], skip_special_tokens=True).strip()
        assert result.id == clip_id and result.text == text
        tokens, scores = segment["result"]["sequences"], segment["result"]["scores"]
        prompt = len(tokens) - len(scores)
        start, end = (int(i) for i in segment["idxs"])
        logprob = sum(
            float(torch.log_softmax(scores[i - prompt].float(), -1)[tokens[i]])
            for i in range(start, end)
        )
        assert 0.0 < result.confidence <= 1.0 and result.language == "en"
        assert result.confidence == pytest.approx(math.exp(logprob / (end - start)))
    hook.remove()
    assert segmented  # the loop cut more than one segment, or encoded again, for a clip


def test_first_segment_ends_where_whispers_own_segmentation_ends():
    import torch
    from transformers.models.whisper.generation_whisper import WhisperGenerationMixin

    from emibench.asr.whisper import first_segment_ends

    begin, eos = 1000, 50

    def t(seconds):
        return begin + seconds

    decodings = [
        [t(0), 1, 2, t(5), t(5), 3, t(9), eos],  # pairs, then a single timestamp
        [t(0), 1, t(5), t(5), 3, t(9), t(9), eos],  # ends on a pair
        [t(0), 1, 2, t(5), t(5), eos],  # one pair, at the end
        [t(0), 1, 2, t(5), t(5), 3, 4],  # one pair, then text cut off
        [t(0), 1, 2, t(5), t(5), 3, eos],
        [t(0), 1, 2, t(5), eos],  # no pair, a single timestamp at the end
        [t(0), 1, 2, 3],  # no pair, cut off
        [1, 2, 3, eos],  # no timestamps
        [t(0), eos],
        [t(0), 1, t(3), t(3), 2, t(6), eos, eos, eos],  # padded in a batch
    ]
    for decoding in decodings:
        tokens = torch.tensor(decoding)
        kept = tokens[: int((tokens == eos).nonzero()[0])] if (tokens == eos).any() else tokens
        segments, _ = WhisperGenerationMixin._retrieve_segment(
            seek_sequence=kept,
            seek_outputs=[{}],
            time_offset=torch.zeros(1, dtype=torch.float64),
            timestamp_begin=begin,
            seek_num_frames=torch.tensor([3000]),
            time_precision=0.02,
            time_precision_features=0.01,
            input_stride=2,
            prev_idx=0,
            idx=0,
            return_token_timestamps=False,
            decoder_input_ids=torch.zeros(1, 0, dtype=torch.long),
        )
        ours = int(first_segment_ends(tokens[None], begin, eos)[0])
        assert ours == segments[0]["idxs"][1], decoding


def test_first_segment_only_needs_whisper():
    from emibench.asr.settings import AsrSettings

    with pytest.raises(ValueError, match="first_segment_only needs backend whisper"):
        AsrSettings(backend="pocketsphinx", first_segment_only=True)

"""PocketSphinx with the phrase-bank language model recovers eSpeak speech; it leaves out OOV phrases."""

import librosa
import numpy as np
import pytest

from emibench.asr.language_model import build_phrase_model, read_phrases
from emibench.asr.pocketsphinx_backend import PocketSphinxTranscriber, model_dir
from emibench.asr.wer import word_error_rate
from emibench.data.synthetic.speech import speak

PHRASES = [
    "i am so happy for you",
    "that is really amazing",
    "we can do this together",
    "i am sorry for your loss",
    "what a wonderful surprise",
    "let us keep going",
    "this makes me laugh",
    "never give up",
]


def speech_16k(text, **prosody):
    samples, rate = speak(text, **prosody)
    return librosa.resample(samples, orig_sr=rate, target_sr=16000).astype(np.float32)


@pytest.fixture(scope="module")
def phrase_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bank") / "phrases.txt"
    path.write_text("\n".join(PHRASES + ["Zorblax quuxified!"]) + "\n")
    return path


def test_model_restricts_to_the_phrase_bank(phrase_file):
    model = build_phrase_model(read_phrases(phrase_file), model_dir() / "cmudict-en-us.dict")
    assert model.phrases == PHRASES
    assert "zorblax quuxified" in model.dropped
    words = {w for p in PHRASES for w in p.split()}
    dict_words = {line.split()[0].split("(")[0] for line in model.dictionary.splitlines()}
    assert dict_words == set(model.words) == words
    assert f"ngram 1={len(words) + 2}" in model.arpa  # the words plus <s> and </s>
    assert "i am so" in model.arpa and "zorblax" not in model.arpa


def test_synthesized_phrases_are_recovered(phrase_file):
    rng = np.random.default_rng(0)
    spoken = [
        "we can do this together",
        "i am sorry for your loss let us keep going",
        "what a wonderful surprise",
        "never give up that is really amazing",
    ]
    batch = []
    for k, text in enumerate(spoken):
        audio = speech_16k(text, rate_wpm=150 + 20 * k, pitch=40 + 10 * k)
        audio = np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(4000, np.float32)])
        audio += rng.normal(0, 0.003, len(audio)).astype(np.float32)
        batch.append((f"{k:05d}", audio))
    transcriber = PocketSphinxTranscriber("phrase_bank", phrase_file)
    results = transcriber.transcribe(batch)
    assert [r.id for r in results] == [c for c, _ in batch]
    errors = [word_error_rate(ref, r.text) for ref, r in zip(spoken, results)]
    assert np.mean(errors) < 0.5, [r.text for r in results]
    for r in results:
        assert r.backend == "pocketsphinx" and r.language == "en" and r.status == "ok"
        assert 0.0 <= r.confidence <= 1.0


def test_full_vocabulary_backend_runs():
    transcriber = PocketSphinxTranscriber("full")
    (result,) = transcriber.transcribe([("00000", speech_16k("hello world"))])
    assert isinstance(result.text, str) and result.status == "ok"


def test_word_error_rate():
    assert word_error_rate("a b c d", "a b c d") == 0.0
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert word_error_rate("", "") == 0.0

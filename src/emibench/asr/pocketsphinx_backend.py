"""PocketSphinx backend: the English model the pocketsphinx package ships, fully offline.

Vocabulary:

- ``phrase_bank``: restricted to a phrase bank (the synthetic dataset's ``phrases.txt``) through
  a trigram language model of its phrases and a dictionary of its words only
  (:mod:`emibench.asr.language_model`). The log says so, with the number of phrases and words.
  This is what the default config uses: eSpeak's synthetic voice is far from the speakers the
  acoustic model was trained on, and the restricted model turns the recogniser into a phrase
  spotter that recovers what was said.
- ``full``: the shipped trigram language model (``en-us.lm.bin``) and full CMU dictionary.

Audio reaches the decoder as 16 kHz int16 PCM, one utterance per clip. ``confidence`` is the
mean posterior probability of the recognised words in the decoder's word lattice (``bestpath``
on; fillers and sentence markers left out), in [0, 1]. Posteriors are per pronunciation variant
and word timing, so a word the lattice splits between variants scores lower: read it as a ranking
of clips, not a calibrated probability. ``language`` is always ``en``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emibench.asr.base import Transcriber, Transcript
from emibench.asr.language_model import build_phrase_model, read_phrases

log = logging.getLogger(__name__)

VOCABULARIES = ("phrase_bank", "full")


def model_dir() -> Path:
    """The folder of the shipped English model (``en-us/``, ``en-us.lm.bin``, ``cmudict-en-us.dict``)."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


def to_int16(samples: np.ndarray) -> np.ndarray:
    """(N,) float in [-1, 1] -> (N,) int16 PCM, clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def _is_filler(word: str) -> bool:
    """Sentence markers, silence and noise fillers (``<s>``, ``<sil>``, ``[NOISE]``, ``(NULL)``)."""
    return word.startswith(("<", "[", "("))


class PocketSphinxTranscriber(Transcriber):
    """Decode 16 kHz clips one by one with PocketSphinx (see the module doc for the vocabulary)."""

    name = "pocketsphinx"

    def __init__(self, vocabulary: str = "phrase_bank", phrases: str | Path | None = None):
        from pocketsphinx import Config, Decoder

        if vocabulary not in VOCABULARIES:
            raise ValueError(
                f"pocketsphinx vocabulary must be one of {VOCABULARIES}, got {vocabulary!r}"
            )
        models = model_dir()
        options = {"hmm": str(models / "en-us"), "bestpath": True, "loglevel": "ERROR"}
        self._workdir = None
        if vocabulary == "phrase_bank":
            if not phrases:
                raise ValueError(
                    "pocketsphinx vocabulary 'phrase_bank' needs the phrase bank file (--phrases)"
                )
            model = build_phrase_model(read_phrases(phrases), models / "cmudict-en-us.dict")
            self._workdir = tempfile.TemporaryDirectory(prefix="emibench-lm-")
            lm, dictionary = model.write(self._workdir.name)
            options.update(lm=str(lm), dict=str(dictionary))
            self._describe = (
                f"pocketsphinx en-us, vocabulary restricted to the phrase bank {phrases}: trigram LM of "
                f"{len(model.phrases)} phrases ({len(model.dropped)} left out), dictionary of "
                f"{len(model.words)} words from the shipped CMU dictionary"
            )
        else:
            options.update(lm=str(models / "en-us.lm.bin"), dict=str(models / "cmudict-en-us.dict"))
            self._describe = (
                "pocketsphinx en-us, full vocabulary (shipped trigram LM and CMU dictionary)"
            )
        self.decoder = Decoder(Config(**options))
        log.info("%s", self._describe)

    def describe(self) -> str:
        return self._describe

    def transcribe(self, batch: Sequence[tuple[str, np.ndarray]]) -> list[Transcript]:
        results = []
        for clip_id, samples in batch:
            decoder = self.decoder
            decoder.start_utt()
            decoder.process_raw(to_int16(samples).tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            text = hyp.hypstr.strip() if hyp is not None else ""
            posteriors = (
                [seg.prob for seg in decoder.seg() if not _is_filler(seg.word)] if text else []
            )
            confidence = float(np.mean(posteriors)) if posteriors else float("nan")
            results.append(
                Transcript(
                    clip_id,
                    text,
                    "en",
                    confidence,
                    self.name,
                    "ok",
                    "" if text else "no words recognised",
                )
            )
        return results

"""A PocketSphinx vocabulary restricted to a phrase bank: a trigram LM and a matching dictionary.

The synthetic dataset ships ``phrases.txt`` (one lower-case phrase a line); every clip says one or
more of these phrases, one after the other. From it this module builds

- a back-off trigram language model in ARPA format, each phrase one sentence (``<s> ... </s>``),
  with pocketsphinx's own builder (:class:`pocketsphinx.lm.ArpaBoLM`, absolute discounting): word
  sequences inside a phrase are strongly preferred, and a new phrase can start after any phrase
  through the back-off to unigrams;
- a dictionary with the pronunciations (and variants) of the phrases' words only, from the CMU
  dictionary that the pocketsphinx package ships.

So the recogniser can only output the phrase bank's words, and prefers its phrases. A phrase with
a word the CMU dictionary lacks is left out with a warning (PocketSphinx cannot say it); no phrase
left is an error.

Why not a JSGF grammar of ``<phrase>+``: it is as accurate on one clip, but the lattice of a
looping grammar over ~100 phrases makes PocketSphinx's posterior computation (``bestpath``,
needed for a confidence) run for minutes per clip; with the n-gram model it takes milliseconds.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9']+")
DISCOUNT_MASS = 0.5


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters, digits and apostrophes; the rest separates words)."""
    return [w.strip("'") for w in _WORD.findall(text.lower()) if w.strip("'")]


def read_phrases(path: str | Path) -> list[str]:
    """Unique non-empty phrases of a phrase bank file, in file order, as space-joined words."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"phrase bank not found: {path}")
    phrases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = words_of(line)
        if words and " ".join(words) not in phrases:
            phrases.append(" ".join(words))
    if not phrases:
        raise ValueError(f"phrase bank {path} holds no phrase")
    return phrases


def read_cmudict(path: str | Path, wanted: set[str]) -> dict[str, list[str]]:
    """Dictionary lines (``word PH ON ES``, variants ``word(2) ...``) of the ``wanted`` words."""
    entries: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            head = line.split(" ", 1)[0]
            word = head.split("(", 1)[0]
            if word in wanted:
                entries.setdefault(word, []).append(line.rstrip("\n"))
    return entries


@dataclass
class PhraseModel:
    """The language model (ARPA text) and dictionary of a phrase bank, and what was left out."""

    phrases: list[str]
    arpa: str
    dictionary: str
    dropped: dict[str, list[str]]  # phrase -> its words missing from the CMU dictionary

    @property
    def words(self) -> list[str]:
        return sorted({w for p in self.phrases for w in p.split()})

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``phrases.lm`` (ARPA) and ``phrases.dict`` into ``folder``; return their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        lm, dictionary = folder / "phrases.lm", folder / "phrases.dict"
        lm.write_text(self.arpa, encoding="utf-8")
        dictionary.write_text(self.dictionary, encoding="utf-8")
        return lm, dictionary


def build_phrase_model(phrases: list[str], cmudict: str | Path) -> PhraseModel:
    """A trigram LM of ``phrases`` and a dictionary limited to their words (see the module doc)."""
    from pocketsphinx.lm import ArpaBoLM

    wanted = {w for p in phrases for w in p.split()}
    entries = read_cmudict(cmudict, wanted)
    kept, dropped = [], {}
    for phrase in phrases:
        missing = [w for w in phrase.split() if w not in entries]
        if missing:
            dropped[phrase] = missing
        else:
            kept.append(phrase)
    for phrase, missing in dropped.items():
        log.warning(
            "phrase %r left out of the language model: %s not in %s", phrase, missing, cmudict
        )
    if not kept:
        raise ValueError(f"no phrase of the phrase bank can be pronounced with {cmudict}")
    model = ArpaBoLM(text="\n".join(kept), add_start=True, discount_mass=DISCOUNT_MASS)
    model.compute()
    arpa = io.StringIO()
    model.write(arpa)
    words = sorted({w for p in kept for w in p.split()})
    dictionary = "\n".join(line for w in words for line in entries[w]) + "\n"
    return PhraseModel(kept, arpa.getvalue(), dictionary, dropped)

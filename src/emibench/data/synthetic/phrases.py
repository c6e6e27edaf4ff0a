"""The emotion-associated phrase bank and transcript sampling.

Each template has one ``{adv}`` slot for an intensity word; the word follows the intensity of the
emotion the phrase expresses. ``phrase_bank()`` lists every realisation (lower case, no
punctuation), which the generator writes to ``phrases.txt`` for an offline ASR's vocabulary.
"""

from __future__ import annotations

import numpy as np

from emibench.emotions import EMOTIONS

INTENSITY_WORDS = ("slightly", "really", "incredibly")
# upper bounds of the intensity levels on the (noisy) intensity in [0, 1]
INTENSITY_LEVELS = (0.4, 0.75)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "Admiration": (
        "that is {adv} impressive",
        "i {adv} admire what they did",
        "wow that was {adv} skillful",
        "they are {adv} talented",
        "that is {adv} beautiful work",
    ),
    "Amusement": (
        "ha ha that is {adv} funny",
        "that was {adv} hilarious",
        "oh that is {adv} silly",
        "i am {adv} amused by this",
        "this is {adv} ridiculous ha ha",
    ),
    "Determination": (
        "i am {adv} determined to do this",
        "we will {adv} get it done",
        "i am {adv} focused now",
        "nothing will stop me i am {adv} ready",
        "let us keep going i am {adv} committed",
    ),
    "Empathic Pain": (
        "that is {adv} painful to watch",
        "oh no that {adv} hurts",
        "i feel {adv} sorry for them",
        "that is {adv} sad",
        "poor thing that looks {adv} awful",
    ),
    "Excitement": (
        "this is {adv} exciting",
        "oh wow i am {adv} thrilled",
        "let us go this is {adv} awesome",
        "i am {adv} eager to see more",
        "that was {adv} intense",
    ),
    "Joy": (
        "i am {adv} happy",
        "this makes me {adv} glad",
        "what a {adv} lovely moment",
        "i feel {adv} wonderful",
        "that is {adv} delightful",
    ),
}
NEUTRAL: tuple[str, ...] = (
    "okay let me see",
    "i am watching the video",
    "so this is the clip",
    "hmm all right",
    "and now the next part",
)
NEUTRAL_WEIGHT = 0.15


def phrase_bank() -> list[str]:
    """Every phrase the generator can say, sorted, one per realisation of the intensity slot."""
    phrases = set(NEUTRAL)
    for templates in TEMPLATES.values():
        for template in templates:
            phrases.update(template.format(adv=word) for word in INTENSITY_WORDS)
    return sorted(phrases)


def intensity_word(level: float) -> str:
    """``slightly`` / ``really`` / ``incredibly`` for an intensity in [0, 1]."""
    return INTENSITY_WORDS[int(np.searchsorted(INTENSITY_LEVELS, level, side="right"))]


def sample_phrase(
    rng: np.random.Generator, latents: np.ndarray, strength: float
) -> tuple[str, str | None]:
    """One phrase for a clip with latents (6,): ``(text, emotion or None for neutral)``.

    With text signal ``strength`` s, emotion e is chosen with weight ``s z_e + (1 - s) r_e``
    (``r_e`` uniform noise in [0, 0.5]) against a fixed neutral weight; its intensity word follows
    ``s z_e + (1 - s) r`` with ``r`` uniform in [0, 1].
    """
    weights = strength * latents + (1 - strength) * rng.uniform(0, 0.5, len(EMOTIONS))
    weights = np.append(weights, NEUTRAL_WEIGHT)
    choice = int(rng.choice(len(weights), p=weights / weights.sum()))
    if choice == len(EMOTIONS):
        return NEUTRAL[int(rng.integers(len(NEUTRAL)))], None
    emotion = EMOTIONS[choice]
    level = strength * latents[choice] + (1 - strength) * rng.uniform()
    templates = TEMPLATES[emotion]
    template = templates[int(rng.integers(len(templates)))]
    return template.format(adv=intensity_word(level)), emotion

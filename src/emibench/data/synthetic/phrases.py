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


def emotion_order(latents: np.ndarray) -> list[int]:
    """Indices of the present emotions (latent > 0), most intense first (ties in EMOTIONS order)."""
    present = np.flatnonzero(np.asarray(latents) > 0)
    return sorted((int(e) for e in present), key=lambda e: (-float(latents[e]), e))


def sample_phrase(
    rng: np.random.Generator,
    latents: np.ndarray,
    strength: float,
    position: int = 0,
    attempt: int = 0,
) -> tuple[str, str | None]:
    """Phrase number ``position`` of a clip with latents (6,): ``(text, emotion or None)``.

    With probability ``strength`` s the phrase follows the latents: the clip's present emotions
    take turns, most intense first (phrase 0 names the dominant emotion, phrase 1 the second, ...,
    then round again), with the intensity word of that emotion's latent; the k-th mention of an
    emotion uses its k-th template (its first template first), so the wording carries no noise
    and a clip does not repeat itself; a clip with no emotion present says the neutral phrases in
    turn. Otherwise (probability 1 - s) the phrase is random: one of the six emotions or neutral,
    uniformly, with a uniformly random intensity word and template. So s = 1 makes the transcript
    a function of the latents (and of how many phrases fit the clip), and s = 0 makes it
    independent of them. ``attempt`` > 0 asks again for a phrase that did not fit the clip: the
    same emotion moves on to its next template (which may be shorter).
    """
    order = emotion_order(latents)
    follows = rng.uniform() < strength
    random_choice = int(rng.integers(len(EMOTIONS) + 1))
    random_level = float(rng.uniform())
    random_pick = int(rng.integers(len(NEUTRAL)))
    if not follows:
        choice, level, pick = random_choice, random_level, random_pick
    elif order:
        choice = order[position % len(order)]
        level = float(latents[choice])
        pick = position // len(order) + attempt
    else:
        choice, level, pick = len(EMOTIONS), 0.0, position + attempt
    if choice == len(EMOTIONS):
        return NEUTRAL[pick % len(NEUTRAL)], None
    emotion = EMOTIONS[choice]
    templates = TEMPLATES[emotion]
    return templates[pick % len(templates)].format(adv=intensity_word(level)), emotion

"""Audio ops on one clip's waveform: float32 (N,) mono of the audio store.

The SNR is set against the clip's power over the whole clip (pauses and its own background
included), ``P_s = mean(x^2)``, and the added noise's power over the same samples: the definition
of torchaudio's ``add_noise`` and SpeechBrain's ``AddNoise``. Speech-only (active) levels would be
higher by about ``10 log10(1 / speech share)`` dB. The sum is not clipped to [-1, 1] (the store
is float32 and clipping would change the SNR); ``peak`` records how loud it got.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emibench.robustness.spec import Noise

SILENCE_PEAK = 1e-4  # as emibench.asr.transcribe: below this everywhere is digital silence
LOW_CUT_HZ = 20.0  # coloured noise has no energy below this (it would count but mask nothing)
EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ f ** -exponent


def power(x: np.ndarray) -> float:
    """Mean square of a waveform (float64); 0 for an empty one."""
    return float(np.mean(np.square(x, dtype=np.float64))) if len(x) else 0.0


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """The SNR of ``noisy`` against ``clean`` in dB: power of clean over power of the difference."""
    noise = np.asarray(noisy, np.float64) - np.asarray(clean, np.float64)
    return 10 * np.log10(power(clean) / power(noise))


def coloured_noise(n: int, rate: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """(n,) Gaussian noise with power ~ f^-e (white 0, pink 1, brown 2) above LOW_CUT_HZ."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.fft.rfftfreq(n, d=1.0 / rate)
    gain = np.zeros_like(freqs)
    audible = freqs >= LOW_CUT_HZ
    gain[audible] = freqs[audible] ** (-EXPONENTS[colour] / 2)
    noise = np.fft.irfft(spectrum * gain, n=n)
    if not np.any(noise):  # a clip shorter than one period of LOW_CUT_HZ: keep it white
        noise = rng.standard_normal(n)
    return noise


class BabblePool:
    """The clips babble is made of: every clip of the store with audio, at one sample rate.

    ``load(id)`` returns a clip's clean waveform; candidates exclude missing entries and digital
    silence.
    """

    def __init__(self, ids: Sequence[str], load: Callable[[str], np.ndarray]):
        self.ids = sorted(ids)
        self.load = load

    def babble(
        self, clip_id: str, n: int, talkers: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        """(n,) babble of up to ``talkers`` other clips (never ``clip_id``) and their ids.

        Each talker starts at a seeded offset, loops to length ``n`` and is scaled to unit power
        before they are summed; no other clip gives an empty id list and zeros.
        """
        others = [c for c in self.ids if c != clip_id]
        if not others:
            return np.zeros(n), []
        chosen = sorted(rng.choice(len(others), size=min(talkers, len(others)), replace=False))
        ids = [others[i] for i in chosen]
        mix = np.zeros(n)
        for other in ids:
            wave = np.asarray(self.load(other), np.float64)
            start = int(rng.integers(len(wave)))
            talker = np.take(wave, (start + np.arange(n)) % len(wave))
            level = power(talker)
            if level > 0:
                mix += talker / np.sqrt(level)
        return mix, ids


def add_noise(
    wave: np.ndarray,
    rate: int,
    params: Noise,
    rng: np.random.Generator,
    clip_id: str,
    pool: BabblePool | None,
) -> tuple[np.ndarray, dict]:
    """``wave`` (N,) plus noise at ``params.snr_db`` (see the module doc) and what was done.

    Digital silence gets no noise (no SNR is defined against it): attributes say so.
    """
    info: dict = {"noise_source": params.source, "snr_db_target": float(params.snr_db)}
    signal = power(wave)
    if len(wave) == 0 or float(np.abs(wave).max()) < SILENCE_PEAK:
        return wave, {**info, "snr_db_applied": float("nan"), "noise_note": "digital silence"}
    if params.source == "babble":
        if pool is None:
            raise ValueError("babble noise needs the store's other clips (a BabblePool)")
        noise, ids = pool.babble(clip_id, len(wave), params.talkers, rng)
        info["babble_ids"] = ids
        if not ids:
            return wave, {**info, "snr_db_applied": float("nan"), "noise_note": "no other clip"}
    else:
        noise = coloured_noise(len(wave), rate, params.source, rng)
    if power(noise) == 0:
        return wave, {**info, "snr_db_applied": float("nan"), "noise_note": "silent noise"}
    scale = np.sqrt(signal / (power(noise) * 10 ** (params.snr_db / 10)))
    noisy = (np.asarray(wave, np.float64) + scale * noise).astype(np.float32)
    info.update(
        snr_db_applied=snr_db(wave, noisy),
        signal_rms=float(np.sqrt(signal)),
        noise_rms=float(scale * np.sqrt(power(noise))),
        peak=float(np.abs(noisy).max()),
    )
    return noisy, info

"""A clip's soundtrack: the transcript spoken by eSpeak NG with latent-driven prosody, plus noise.

Prosody (per phrase): ``q = base + scale * (s * (P z) + (1 - s) * n + j)`` for pitch, rate,
volume and pitch range, ``P`` the :data:`PROSODY_MIX` matrix, ``z`` the latents (6,), ``s`` the
audio signal strength, ``n`` clip-level noise (4,) and ``j`` a small per-phrase jitter. Background
noise (low-passed white noise and mains hum) is added at the clip's SNR, measured against the
speech's RMS over its voiced span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter, resample_poly

from emibench.data.synthetic.speech import speak

PROSODY = ("pitch", "rate_wpm", "volume", "pitch_range")
# columns: Admiration, Amusement, Determination, Empathic Pain, Excitement, Joy
PROSODY_MIX = np.array(
    [
        [0.2, 0.5, -0.3, -0.6, 0.8, 0.5],  # pitch
        [-0.3, 0.4, 0.3, -0.8, 0.8, 0.2],  # rate
        [0.0, 0.3, 0.8, -0.6, 0.7, 0.3],  # volume
        [0.4, 0.7, -0.4, -0.3, 0.6, 0.7],  # pitch range
    ]
)
PROSODY_SCALE = np.array([28.0, 70.0, 70.0, 35.0])
SPEECH_RATE = 22050  # eSpeak NG's output rate
MIC_GAIN = 0.5  # headroom so loud speech stays inside [-1, 1]


@dataclass(frozen=True)
class Voice:
    """A subject's voice: eSpeak voice name and prosody baseline (pitch, rate, volume, range)."""

    name: str
    base: tuple[float, float, float, float]


def sample_voice(rng: np.random.Generator, voices: tuple[str, ...]) -> Voice:
    name = voices[int(rng.integers(len(voices)))]
    return Voice(
        name=name,
        base=(
            float(rng.uniform(38, 62)),
            float(rng.uniform(150, 185)),
            float(rng.uniform(90, 110)),
            float(rng.uniform(40, 60)),
        ),
    )


def clip_prosody(
    rng: np.random.Generator, voice: Voice, latents: np.ndarray, strength: float
) -> np.ndarray:
    """The clip's prosody centre (4,) in :data:`PROSODY` order: ``base + scale * (s P z + (1-s) n)``."""
    clip_noise = rng.normal(0, 0.6, len(PROSODY))
    drive = strength * (PROSODY_MIX @ latents) + (1 - strength) * clip_noise
    return np.asarray(voice.base) + PROSODY_SCALE * drive


def phrase_prosody(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    """One phrase's prosody (4,): the clip's centre with a small jitter."""
    return centre + PROSODY_SCALE * rng.normal(0, 0.12, len(PROSODY))


def estimated_seconds(text: str, rate_wpm: float) -> float:
    """An estimate of how long eSpeak takes to say ``text`` (decides what fits a clip).

    Measured over the phrase bank, eSpeak's voiced span stays within 1.1x words / rate at normal
    rates (1.25x at the fastest); the rare overrun is cut at the clip's end.
    """
    return 1.1 * len(text.split()) * 60.0 / max(rate_wpm, 80.0) + 0.1


def speech_track(
    phrases: list[str],
    onsets: list[float],
    params: np.ndarray,
    voice: str,
    duration: float,
    seed: int = 0,
) -> np.ndarray:
    """The spoken phrases placed at their onsets (s) in a clip of ``duration`` s.

    ``params`` (n, 4) is each phrase's prosody; phrase i seeds eSpeak's noise with ``seed + i``.
    Returns float32 (N,) at :data:`SPEECH_RATE`; speech running past the end is cut.
    """
    n = max(1, round(duration * SPEECH_RATE))
    track = np.zeros(n, dtype=np.float32)
    for i, (text, onset, (pitch, rate, volume, pitch_range)) in enumerate(
        zip(phrases, onsets, params)
    ):
        samples, _ = speak(
            text,
            rate_wpm=rate,
            pitch=pitch,
            volume=volume,
            voice=voice,
            pitch_range=pitch_range,
            seed=seed + i,
        )
        start = round(onset * SPEECH_RATE)
        stop = min(n, start + len(samples))
        if stop > start:
            track[start:stop] += samples[: stop - start]
    return track


def background_noise(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Room noise (N,): low-passed white noise with a little mains hum, unit RMS."""
    pole = rng.uniform(0.6, 0.95)
    noise = lfilter([1 - pole], [1, -pole], rng.standard_normal(n))
    hum_hz = 50.0 if rng.uniform() < 0.5 else 60.0
    noise += 0.3 * np.std(noise) * np.sin(2 * np.pi * hum_hz * np.arange(n) / rate)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def mix(
    rng: np.random.Generator,
    speech: np.ndarray,
    snr_db: float | None,
    gain: float,
    out_rate: int,
) -> tuple[np.ndarray, float, float]:
    """Speech (N,) at SPEECH_RATE plus noise at ``snr_db``; ``snr_db=None`` for noise only.

    Returns ``(audio, speech_rms, noise_rms)``: float32 (M,) at ``out_rate`` in [-1, 1].
    """
    speech = speech * gain * MIC_GAIN
    voiced = np.abs(speech) > 1e-4
    speech_rms = float(np.sqrt(np.mean(speech[voiced] ** 2))) if voiced.any() else 0.0
    if snr_db is None or speech_rms == 0.0:
        noise_rms = float(rng.uniform(0.003, 0.03))
    else:
        noise_rms = speech_rms / 10 ** (snr_db / 20)
    audio = speech + noise_rms * background_noise(rng, len(speech), SPEECH_RATE)
    if out_rate != SPEECH_RATE:
        audio = resample(audio, SPEECH_RATE, out_rate)
    return np.clip(audio, -1, 1).astype(np.float32), speech_rms, noise_rms


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of (N,) float audio."""
    from math import gcd

    g = gcd(rate_in, rate_out)
    return resample_poly(audio, rate_out // g, rate_in // g).astype(np.float32)

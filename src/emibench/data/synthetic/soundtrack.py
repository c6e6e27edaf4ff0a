"""A clip's soundtrack: the transcript spoken by eSpeak NG with latent-driven prosody, plus noise.

Prosody (per phrase): ``q = base + scale * (s * (P z) + (1 - s) * n + j)`` for the seven
:data:`PROSODY` parameters, ``P`` the :data:`PROSODY_MIX` matrix, ``z`` the latents (6,), ``s``
the audio signal strength, ``n`` clip-level noise (7,) and ``j`` a small per-phrase jitter. Pitch,
rate, volume and pitch range are eSpeak NG parameters; hiss, sigh and laugh are voice qualities,
breath noise that follows the speech envelope (:func:`voice_quality`). Background noise
(low-passed white noise and mains hum) is added at the clip's SNR against the speech at the
subject's usual loudness, so louder speech has a higher SNR (:func:`loudness_db`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, lfilter, resample_poly

from emibench.data.synthetic.speech import VOLUME_RANGE, speak

PROSODY = ("pitch", "rate_wpm", "volume", "pitch_range", "hiss", "sigh", "laugh")
# The first four are eSpeak parameters; the last three are the amounts in [0, 1] of the non-verbal
# vocalisations after each phrase (:func:`vocal_burst`): a gasp (hiss), a sigh and laughter.
# columns: Admiration, Amusement, Determination, Empathic Pain, Excitement, Joy
PROSODY_MIX = np.array(
    [
        [0.3, 0.3, -0.4, -0.5, 0.8, 0.5],  # pitch
        [-0.4, 0.2, 0.3, -0.8, 0.8, 0.1],  # rate
        [-0.2, 0.2, 0.9, -0.6, 0.6, 0.2],  # volume
        [0.3, 0.3, -0.5, -0.3, 0.5, 0.9],  # pitch range
        [0.9, 0.0, -0.4, 0.1, 0.4, -0.1],  # hiss: breathy awe, excited gasps; pressed resolve
        [0.1, -0.1, -0.2, 0.9, -0.2, -0.1],  # sigh: sorrow
        [0.0, 0.9, -0.2, -0.3, 0.1, 0.4],  # laugh: amusement, some joy
    ]
)
PROSODY_SCALE = np.array([45.0, 70.0, 50.0, 50.0, 1.5, 1.5, 1.5])
BURST_S = 0.6  # the time a plan leaves after each phrase for a vocal burst
LAUGH_HZ = 4.5  # syllable rate of laughter
LAUGH_PITCH_HZ = 220.0
SPEECH_RATE = 22050  # eSpeak NG's output rate
MIC_GAIN = 0.5  # headroom so loud speech stays inside [-1, 1]


@dataclass(frozen=True)
class Voice:
    """A subject's voice: eSpeak voice name and prosody baseline in :data:`PROSODY` order."""

    name: str
    base: tuple[float, ...]


def sample_voice(rng: np.random.Generator, voices: tuple[str, ...]) -> Voice:
    name = voices[int(rng.integers(len(voices)))]
    return Voice(
        name=name,
        base=(
            float(rng.uniform(38, 62)),
            float(rng.uniform(150, 185)),
            float(rng.uniform(90, 110)),
            float(rng.uniform(40, 60)),
            float(rng.uniform(0.0, 0.2)),
            float(rng.uniform(0.0, 0.1)),
            float(rng.uniform(0.0, 0.1)),
        ),
    )


def clip_prosody(
    rng: np.random.Generator, voice: Voice, latents: np.ndarray, strength: float
) -> np.ndarray:
    """The clip's prosody centre (7,) in :data:`PROSODY` order: ``base + scale * (s P z + (1-s) n)``."""
    clip_noise = rng.normal(0, 0.6, len(PROSODY))
    drive = strength * (PROSODY_MIX @ latents) + (1 - strength) * clip_noise
    return np.asarray(voice.base) + PROSODY_SCALE * drive


def loudness_db(centre: np.ndarray, voice: Voice) -> float:
    """How much louder (dB) than the subject's baseline a clip with prosody ``centre`` speaks.

    eSpeak's amplitude is proportional to its volume parameter (0..200, clipped there).
    """
    volume = np.clip(centre[PROSODY.index("volume")], 1.0, VOLUME_RANGE[1])
    return float(20 * np.log10(volume / voice.base[PROSODY.index("volume")]))


def phrase_prosody(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    """One phrase's prosody (7,): the clip's centre with a small jitter."""
    return centre + PROSODY_SCALE * rng.normal(0, 0.12, len(PROSODY))


def estimated_seconds(text: str, rate_wpm: float) -> float:
    """An estimate of how long eSpeak takes to say ``text`` (decides what fits a clip).

    Measured over the phrase bank, eSpeak's voiced span stays within 1.1x words / rate at normal
    rates (1.25x at the fastest); the rare overrun is cut at the clip's end.
    """
    return 1.1 * len(text.split()) * 60.0 / max(rate_wpm, 80.0) + 0.1


def vocal_burst(
    level: float, hiss: float, sigh: float, laugh: float, rng: np.random.Generator, rate: int
) -> np.ndarray:
    """The non-verbal vocalisation after a phrase, float32 (BURST_S * rate,), silent when all
    amounts are 0.

    ``hiss``: a gasp (a short inhaled hiss, 2-8 kHz); ``sigh``: an exhaled low breath (0.2-1.2 kHz)
    that swells and fades; ``laugh``: breathy laughter, bursts at :data:`LAUGH_HZ` of aspiration
    (0.6-4 kHz) over a buzz at :data:`LAUGH_PITCH_HZ`. Amounts are clipped to [0, 1]; a full
    amount has about the RMS ``level`` (the phrase's voiced RMS).
    """
    hiss, sigh, laugh = (float(np.clip(v, 0.0, 1.0)) for v in (hiss, sigh, laugh))
    n = int(BURST_S * rate)
    out = np.zeros(n)
    t = np.arange(n) / rate
    if hiss:
        env = np.clip(t / 0.04, 0, 1) * np.exp(-np.maximum(t - 0.04, 0) / 0.12)
        out += 2.5 * hiss * env * _filtered_noise(rng, n, (4000.0, 9000.0), rate)
    if sigh:
        env = np.sin(np.pi * t / BURST_S) ** 1.5
        out += 1.5 * sigh * env * _filtered_noise(rng, n, (500.0, 2000.0), rate)
    if laugh:
        pulses = np.maximum(np.sin(2 * np.pi * LAUGH_HZ * t), 0) ** 0.5
        buzz = np.sign(np.sin(2 * np.pi * LAUGH_PITCH_HZ * t)) * 0.2
        out += 2.0 * laugh * pulses * (_filtered_noise(rng, n, (1500.0, 4000.0), rate) + buzz)
    return (level * out).astype(np.float32)


def _filtered_noise(rng: np.random.Generator, n: int, band: tuple[float, float], rate: int):
    """Band-passed white noise (n,) with unit RMS."""
    low, high = band[0] / (rate / 2), min(band[1] / (rate / 2), 0.99)
    b, a = butter(2, [low, high], "band")
    noise = lfilter(b, a, rng.standard_normal(n))
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def speech_track(
    phrases: list[str],
    onsets: list[float],
    params: np.ndarray,
    voice: str,
    duration: float,
    seed: int = 0,
) -> np.ndarray:
    """The spoken phrases placed at their onsets (s) in a clip of ``duration`` s.

    ``params`` (n, 7) is each phrase's prosody (:data:`PROSODY`): eSpeak's parameters, then the
    amounts of the :func:`vocal_burst` that follows the phrase's end by 50 ms (within the
    :data:`BURST_S` the plan leaves after each phrase). Phrase i seeds eSpeak's noise and its burst
    with ``seed + i``. Returns float32 (N,) at :data:`SPEECH_RATE`; sound running past the end is
    cut.
    """
    n = max(1, round(duration * SPEECH_RATE))
    track = np.zeros(n, dtype=np.float32)
    for i, (text, onset, (pitch, rate, volume, pitch_range, *quality)) in enumerate(
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
        voiced = np.abs(samples) > 1e-4
        level = float(np.sqrt(np.mean(samples[voiced] ** 2))) if voiced.any() else 0.0
        burst = vocal_burst(level, *quality, np.random.default_rng(seed + i), SPEECH_RATE)
        start = round(onset * SPEECH_RATE)
        after = start + len(samples) + round(0.05 * SPEECH_RATE)
        for offset, sound in ((start, samples), (after, burst)):
            stop = min(n, offset + len(sound))
            if stop > offset:
                track[offset:stop] += sound[: stop - offset]
    return track


def background_noise(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Room noise (N,): low-passed white noise with a little mains hum, unit RMS."""
    pole = rng.uniform(0.78, 0.82)
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

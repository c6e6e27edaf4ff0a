"""Noise lands at the target SNR, from the stated source; babble never uses the clip itself."""

import numpy as np
import pytest

from emibench.robustness import audio
from emibench.robustness.seeding import clip_rng
from emibench.robustness.spec import Noise
from robustness_fakes import RATE, TONES, tone

WAVES = {clip_id: tone(freq, 1.0 + 0.5 * k) for k, (clip_id, freq) in enumerate(TONES.items())}


def pool(loaded=None):
    def load(clip_id):
        if loaded is not None:
            loaded.append(clip_id)
        return WAVES[clip_id]

    return audio.BabblePool(list(WAVES), load)


def noisy(clip_id, snr, source, condition="c", talkers=4, babble=None):
    params = Noise(snr_db=snr, source=source, talkers=talkers)
    rng = clip_rng(0, condition, clip_id, 0)
    return audio.add_noise(WAVES[clip_id], RATE, params, rng, clip_id, babble or pool())


@pytest.mark.parametrize("source", ["babble", "white", "pink", "brown"])
@pytest.mark.parametrize("snr", [20, 10, 0, -5])
def test_measured_snr_is_the_target(source, snr):
    for clip_id, wave in WAVES.items():
        out, info = noisy(clip_id, snr, source)
        assert out.dtype == np.float32 and out.shape == wave.shape
        assert audio.snr_db(wave, out) == pytest.approx(snr, abs=0.1)
        assert info["snr_db_applied"] == pytest.approx(snr, abs=0.1)
        assert info["noise_source"] == source


@pytest.mark.parametrize(("colour", "slope"), [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_coloured_noise_has_its_spectral_slope(colour, slope):
    """Power per octave band falls by 0, 3 or 6 dB per octave (from 20 Hz up, none below)."""
    rng = np.random.default_rng(0)
    n = 16 * RATE
    x = audio.coloured_noise(n, RATE, colour, rng)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    assert spectrum[freqs < audio.LOW_CUT_HZ].sum() < 1e-20 * spectrum.sum()
    centres = 250 * 2.0 ** np.arange(5)  # 250 .. 4000 Hz
    # power density (per Hz) at each octave centre: slope - 3 dB per octave relative to bands
    density = [
        spectrum[(freqs >= c / np.sqrt(2)) & (freqs < c * np.sqrt(2))].mean() for c in centres
    ]
    per_octave = np.diff(10 * np.log10(density)).mean()
    assert per_octave == pytest.approx(slope, abs=0.5)


def test_babble_never_uses_the_clip_itself():
    for clip_id, freq in TONES.items():
        loaded = []
        out, info = noisy(clip_id, 0, "babble", babble=pool(loaded))
        assert clip_id not in info["babble_ids"] and clip_id not in loaded
        assert len(info["babble_ids"]) == 4 and set(info["babble_ids"]) == set(loaded)
        noise = out.astype(np.float64) - WAVES[clip_id]
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
        share = {f: spectrum[np.abs(freqs - f) < 30].sum() / spectrum.sum() for f in TONES.values()}
        assert share[freq] < 0.01  # the clip's own tone is not in its babble
        for other in info["babble_ids"]:
            assert share[TONES[other]] > 0.1


def test_babble_talkers_are_capped_by_the_pool():
    _, info = noisy("00001", 0, "babble", talkers=10)
    assert sorted(info["babble_ids"]) == ["00002", "00003", "00004", "00005"]
    lonely = audio.BabblePool(["00001"], WAVES.__getitem__)
    out, info = noisy("00001", 0, "babble", babble=lonely)
    assert np.array_equal(out, WAVES["00001"]) and np.isnan(info["snr_db_applied"])
    assert info["noise_note"] == "no other clip"


def test_noise_is_seeded_by_seed_condition_and_clip():
    a, _ = noisy("00002", 0, "pink")
    b, _ = noisy("00002", 0, "pink")
    c, _ = noisy("00002", 0, "pink", condition="other")
    assert a.tobytes() == b.tobytes()
    assert not np.allclose(a, c)
    d, _ = noisy("00002", 0, "babble")
    e, _ = noisy("00002", 0, "babble", condition="other")
    assert not np.allclose(d, e)


def test_digital_silence_gets_no_noise():
    silence = np.zeros(RATE, np.float32)
    rng = clip_rng(0, "c", "00007", 0)
    out, info = audio.add_noise(silence, RATE, Noise(snr_db=0, source="white"), rng, "00007", None)
    assert np.array_equal(out, silence)
    assert np.isnan(info["snr_db_applied"]) and info["noise_note"] == "digital silence"

"""Each vision op changes exactly what it should."""

import numpy as np
import pytest

from emibench.robustness import vision
from emibench.robustness.seeding import clip_rng
from emibench.robustness.spec import Blur, DropFrames, LowLight, Occlude
from robustness_fakes import textured_frames


def rng(clip="00001", condition="c", index=0):
    return clip_rng(0, condition, clip, index)


def frames(n=20, size=32, seed=0):
    return textured_frames(np.random.default_rng(seed), n, size)


def test_face_region_geometry():
    rows, cols = vision.face_region(64, 2 / 3, "full")
    assert (rows, cols) == (slice(10, 53), slice(10, 53))  # a 43-px square, centred
    upper, _ = vision.face_region(64, 2 / 3, "upper")
    lower, _ = vision.face_region(64, 2 / 3, "lower")
    assert upper.start == 10 and upper.stop == lower.start == 10 + round(0.55 * 43)
    assert lower.stop == 53


@pytest.mark.parametrize("n", [1, 3, 7, 20, 33])
@pytest.mark.parametrize("share", [0.25, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("pattern", ["block", "random"])
def test_occluded_share_of_frames_is_the_target(n, share, pattern):
    clip = frames(n)
    out, info = vision.occlude(clip, Occlude(share=share, pattern=pattern), rng())
    changed = np.any(out != clip, axis=(1, 2, 3))
    assert changed.sum() == info["occluded_frames"] == np.floor(share * n + 0.5)
    assert abs(info["occluded_share"] - share) <= 0.5 / n + 1e-9
    assert np.array_equal(changed, info["occluded"])
    if pattern == "block" and changed.any():
        hit = np.flatnonzero(changed)
        assert np.array_equal(hit, np.arange(hit[0], hit[-1] + 1))


@pytest.mark.parametrize("region", ["lower", "upper", "full"])
def test_occlusion_touches_only_its_region(region):
    clip = frames(10)
    out, info = vision.occlude(clip, Occlude(share=1.0, region=region, fill=7), rng())
    rows, cols = vision.face_region(32, 2 / 3, region)
    mask = np.zeros((32, 32), bool)
    mask[rows, cols] = True
    assert np.all(out[:, mask] == 7)
    assert np.array_equal(out[:, ~mask], clip[:, ~mask])
    assert info["occlusion_region"] == region


def test_blur_lowers_high_frequency_energy_and_keeps_the_mean():
    clip = frames(5, size=64)
    out, info = vision.blur(clip, Blur(sigma=0.04))

    def high_freq(x):
        spectrum = np.abs(np.fft.fft2(x.astype(np.float64), axes=(1, 2))) ** 2
        f = np.fft.fftfreq(x.shape[1])
        far = (np.abs(f)[:, None] > 0.25) | (np.abs(f)[None, :] > 0.25)
        return spectrum[:, far].sum()

    assert high_freq(out) < 0.01 * high_freq(clip)
    assert abs(out.mean() - clip.mean()) < 1.0
    assert info["blurred_frames"] == 5 and info["blur_sigma_px"] == pytest.approx(2.56)


def test_low_light_darkens_with_seeded_sensor_noise():
    clip = frames(4)
    params = LowLight(gain=0.3, gamma=1.5, noise_std=4.0)
    out, info = vision.low_light(clip, params, rng())
    expected = 255 * 0.3 * (clip / 255.0) ** 1.5
    residual = out - expected
    assert out.mean() < 0.35 * clip.mean()
    assert abs(residual.mean()) < 0.3 and 3.5 < residual.std() < 4.5
    again, _ = vision.low_light(clip, params, rng())
    other, _ = vision.low_light(clip, params, rng(clip="00002"))
    assert np.array_equal(out, again) and not np.array_equal(out, other)
    clean, _ = vision.low_light(clip, LowLight(noise_std=0), rng())
    assert np.abs(clean - expected).max() <= 0.5 + 1e-6
    assert info["darkened_frames"] == 4


@pytest.mark.parametrize("n", [1, 2, 7, 20])
@pytest.mark.parametrize("share", [0.25, 0.5, 0.9, 1.0])
def test_drop_frames_keeps_one_unless_share_is_one(n, share):
    keep, info = vision.drop_frames(n, DropFrames(share=share), rng())
    if share == 1.0:
        assert len(keep) == 0
    else:
        assert len(keep) == n - min(np.floor(share * n + 0.5), n - 1) >= 1
    assert np.all(np.diff(keep) > 0) and info["dropped_frames"] + info["kept_frames"] == n


def test_choices_depend_on_clip_and_condition():
    a = vision.pick(100, 30, "random", rng())
    assert np.array_equal(a, vision.pick(100, 30, "random", rng()))
    assert not np.array_equal(a, vision.pick(100, 30, "random", rng(clip="00002")))
    assert not np.array_equal(a, vision.pick(100, 30, "random", rng(condition="d")))

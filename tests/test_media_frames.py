"""Frames sampled by timestamp: counts, which source frame is taken, the cap, odd and broken clips."""

from fractions import Fraction

import numpy as np
import pytest

from emibench.media.container import MediaError
from emibench.media.face_crop import FaceSettings
from emibench.media.frames import FrameSettings, sample_frames, target_timestamps
from emibench.media.sample_clips import frame_index, write_clip

NO_FACE = FaceSettings(detector="none")


def settings(rate_hz=5.0, max_frames=0, size=32):
    return FrameSettings(rate_hz=rate_hz, max_frames=max_frames, size=size, face=NO_FACE)


def shown_at(frame_times, t):
    """Index of the frame on screen at time t: the last one with time <= t (the first before it)."""
    return max(0, int(np.searchsorted(frame_times, t + 1e-6, side="right")) - 1)


@pytest.mark.parametrize(
    ("fps", "duration", "expected"),
    [(25, 2.0, 10), (Fraction(30000, 1001), 3.0, 16), (60, 1.0, 5), (12, 2.5, 13)],
)
def test_constant_rate_count_and_frames_follow_timestamps(tmp_path, fps, duration, expected):
    path = write_clip(tmp_path / "clip.mp4", duration, fps)
    clip = sample_frames(path, settings())
    n_src = int(np.ceil(duration * float(fps) - 1e-9))
    src_times = np.arange(n_src) / float(fps)
    assert len(clip.timestamps) == expected == clip.frames.shape[0]
    assert clip.frames.shape[1:] == (32, 32, 3) and clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.timestamps, np.arange(expected) / 5.0, atol=1e-6)
    assert clip.source_fps == pytest.approx(float(fps), rel=1e-3)
    assert [frame_index(f) for f in clip.frames] == [
        shown_at(src_times, t) for t in clip.timestamps
    ]
    assert not clip.face.any() and clip.reason == ""


def test_variable_frame_rate_takes_the_frame_on_screen(tmp_path):
    rng = np.random.default_rng(3)
    times = np.concatenate([[0.0], np.cumsum(rng.uniform(0.01, 0.3, 40))])
    path = write_clip(tmp_path / "vfr.mp4", frame_times=times)
    clip = sample_frames(path, settings())
    duration = times[-1] + (
        times[-1] - times[-2]
    )  # the muxer gives the last frame the previous gap
    assert len(clip.timestamps) == pytest.approx(duration * 5, abs=1)
    assert [frame_index(f) for f in clip.frames] == [shown_at(times, t) for t in clip.timestamps]


def test_clip_shorter_than_one_step_gives_one_frame(tmp_path):
    path = write_clip(tmp_path / "short.mp4", 0.1, 25)
    clip = sample_frames(path, settings())
    assert clip.frames.shape == (1, 32, 32, 3)
    assert clip.timestamps.tolist() == [0.0]


def test_cap_samples_uniformly_over_the_whole_clip(tmp_path):
    path = write_clip(tmp_path / "long.mp4", 12.0, 10)
    clip = sample_frames(path, settings(max_frames=7))
    assert len(clip.timestamps) == 7 and clip.n_grid == 60 and clip.capped
    assert clip.timestamps[0] == 0.0 and clip.timestamps[-1] == pytest.approx(11.8)
    assert np.diff(clip.timestamps).std() < 0.11  # evenly spread (on the 5 fps grid)
    src_times = np.arange(120) / 10
    assert [frame_index(f) for f in clip.frames] == [
        shown_at(src_times, t) for t in clip.timestamps
    ]


def test_target_grid():
    grid, n = target_timestamps(1.0, 5.0)
    assert n == 5 and grid.tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    grid, n = target_timestamps(0.01, 5.0)
    assert n == 1 and grid.tolist() == [0.0]
    grid, n = target_timestamps(1250.0, 5.0, max_frames=1500)
    assert n == 6250 and len(grid) == 1500 and grid[-1] == pytest.approx(1249.8)


def test_truncated_clip_keeps_decoded_frames_with_a_reason(tmp_path):
    import av

    source = write_clip(tmp_path / "full.mp4", 6.0, 25, size=(128, 96))
    faststart = tmp_path / "faststart.mp4"
    with (
        av.open(str(source)) as src,
        av.open(str(faststart), "w", options={"movflags": "faststart"}) as dst,
    ):
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    data = faststart.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.5)])
    clip = sample_frames(cut, settings())
    assert 0 < len(clip.timestamps) < 30
    assert clip.reason.startswith("cut short")


def test_undecodable_clip_raises_media_error(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(MediaError, match="junk.mp4"):
        sample_frames(junk, settings())
    with pytest.raises(MediaError, match="no such file"):
        sample_frames(tmp_path / "absent.mp4", settings())

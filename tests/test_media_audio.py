"""Audio at 16 kHz mono float32: from the mp4 or the dataset's audio file, capped, or missing."""

import numpy as np
import pytest
import soundfile as sf

from emibench.media.audio import AudioSettings, clip_audio, decode_audio
from emibench.media.container import MediaError
from emibench.media.sample_clips import tone, write_clip


def dominant_hz(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


@pytest.mark.parametrize(("rate", "channels"), [(44100, 1), (48000, 2)])
def test_mp4_audio_is_resampled_to_16k_mono(tmp_path, rate, channels):
    path = write_clip(
        tmp_path / "a.mp4",
        2.0,
        25,
        audio=tone(2.0, rate, 440.0),
        audio_rate=rate,
        audio_channels=channels,
    )
    audio = decode_audio(path, AudioSettings(sample_rate=16000, max_seconds=0))
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert len(audio.samples) / 16000 == pytest.approx(2.0, abs=0.06)  # AAC priming adds a few ms
    assert (audio.source_rate, audio.source_channels) == (rate, channels)
    assert dominant_hz(audio.samples, 16000) == pytest.approx(440, abs=3)
    assert np.abs(audio.samples).max() == pytest.approx(
        0.3, abs=0.05
    )  # mean of channels keeps the level


def test_separate_audio_file_is_preferred(tmp_path):
    video = write_clip(tmp_path / "v.mp4", 2.0, 25, audio=tone(2.0, 44100, 440.0))
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(1.5, 22050, 1000.0), 22050)
    row = {"id": "00001", "video_path": str(video), "audio_path": str(wav), "status": "ok"}
    audio = clip_audio(row, AudioSettings(max_seconds=0))
    assert audio.source == "file" and audio.reason == ""
    assert len(audio.samples) == 24000  # exactly 1.5 s at 16 kHz
    assert dominant_hz(audio.samples, 16000) == pytest.approx(1000, abs=3)


def test_unreadable_audio_file_falls_back_to_the_mp4(tmp_path):
    video = write_clip(tmp_path / "v.mp4", 1.0, 25, audio=tone(1.0, 44100))
    bad = tmp_path / "a.mp3"
    bad.write_bytes(b"garbage" * 50)
    audio = clip_audio(
        {"video_path": str(video), "audio_path": str(bad), "status": "ok"}, AudioSettings()
    )
    assert audio.source == "mp4" and "a.mp3" in audio.reason


def test_cap_keeps_the_first_seconds(tmp_path):
    path = write_clip(tmp_path / "a.mp4", 3.0, 25, audio=tone(3.0, 44100))
    audio = decode_audio(path, AudioSettings(max_seconds=1.25))
    assert len(audio.samples) == 20000 and audio.capped


def test_no_audio_track_raises(tmp_path):
    path = write_clip(tmp_path / "silent.mp4", 1.0, 25)
    with pytest.raises(MediaError, match="no audio track"):
        clip_audio({"video_path": str(path), "audio_path": "", "status": "ok"}, AudioSettings())

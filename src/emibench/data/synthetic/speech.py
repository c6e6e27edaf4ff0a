"""Real speech from eSpeak NG, through the shared library that the espeakng-loader package ships.

The library is driven with ctypes in synchronous mode: ``espeak_Synth`` calls back with blocks of
22.05 kHz int16 samples, which are collected into one array. eSpeak keeps global state and is not
thread-safe, so every call holds a process-wide lock; the library is initialised once per process
(lazily, so a forked worker initialises its own copy).

Reproducibility: eSpeak's noise generator (used by the breathy voice variants) is seeded on every
call; its other carried-over state (e.g. the flutter phase) makes an utterance depend slightly on
the ones before it in the same process, so the same sequence of calls in a fresh process gives
identical samples, while the same call twice in one process may differ in a few samples.
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

# espeak_AUDIO_OUTPUT, espeak_PARAMETER, espeak_POSITION_TYPE and flag values of speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE, ESPEAK_VOLUME, ESPEAK_PITCH, ESPEAK_RANGE = 1, 2, 3, 4
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
EE_OK = 0

RATE_RANGE = (80, 450)  # words per minute eSpeak accepts
PITCH_RANGE = (0, 100)
VOLUME_RANGE = (0, 200)

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SpeechError(RuntimeError):
    """eSpeak NG could not be loaded or failed to synthesize."""


class _Engine:
    """One initialised eSpeak NG library per process."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        self._seed_rng = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._seed_rng is not None:
            self._seed_rng.argtypes = [ctypes.c_long]
            self._seed_rng.restype = None

        data_path = espeakng_loader.get_data_path()
        # espeak_Initialize wants the folder that *contains* espeak-ng-data.
        parent = os.path.dirname(data_path.rstrip(os.sep))
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, parent.encode(), 0)
        if rate <= 0:
            rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
        if rate <= 0:
            raise SpeechError(
                f"espeak_Initialize failed (returned {rate}) with data at {data_path}"
            )
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # Keep a reference to the C callback for the life of the engine.
        self._callback = _SYNTH_CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None

    def _collect(self, wav, n_samples, _events) -> int:
        if wav and n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        return 0

    def synth(
        self,
        text: str,
        rate_wpm: int,
        pitch: int,
        volume: int,
        pitch_range: int,
        voice: str,
        seed: int,
    ) -> np.ndarray:
        lib = self.lib
        if voice != self.voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise SpeechError(f"eSpeak NG has no voice named {voice!r}")
            self.voice = voice
        params = (
            (ESPEAK_RATE, rate_wpm),
            (ESPEAK_PITCH, pitch),
            (ESPEAK_VOLUME, volume),
            (ESPEAK_RANGE, pitch_range),
        )
        for param, value in params:
            if lib.espeak_SetParameter(param, int(value), 0) != EE_OK:
                raise SpeechError(f"espeak_SetParameter({param}, {value}) failed")
        if self._seed_rng is not None:
            # female variants add breath noise from eSpeak's own generator, seeded by the clock
            self._seed_rng(ctypes.c_long(seed))
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        if err != EE_OK:
            raise SpeechError(f"espeak_Synth failed with error {err} on {text!r}")
        lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks)


_ENGINE: _Engine | None = None
_ENGINE_PID: int | None = None
_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE, _ENGINE_PID
    if _ENGINE is None or _ENGINE_PID != os.getpid():
        _ENGINE = _Engine()
        _ENGINE_PID = os.getpid()
    return _ENGINE


def speak(
    text: str,
    rate_wpm: float = 175,
    pitch: float = 50,
    volume: float = 100,
    voice: str = "en-us",
    pitch_range: float = 50,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """Synthesize ``text`` with eSpeak NG.

    Args:
        text: what to say (UTF-8).
        rate_wpm: speaking rate in words per minute, clipped to 80..450.
        pitch: base pitch 0..100 (50 is the voice's normal pitch).
        volume: loudness 0..200 (100 is normal).
        voice: eSpeak voice name, e.g. ``en-us`` or ``en-us+f2``.
        pitch_range: intonation range 0..100 (50 normal, 0 monotone).
        seed: seed of eSpeak's noise generator (breathy voice variants), reset for every call.

    Returns:
        ``(samples, sample_rate)``: float32 mono samples (N,) in [-1, 1] and the rate in Hz
        (22050 for eSpeak NG). An empty text gives an empty array.
    """
    rate_wpm = int(np.clip(round(rate_wpm), *RATE_RANGE))
    pitch = int(np.clip(round(pitch), *PITCH_RANGE))
    volume = int(np.clip(round(volume), *VOLUME_RANGE))
    pitch_range = int(np.clip(round(pitch_range), *PITCH_RANGE))
    with _LOCK:
        engine = _engine()
        samples = engine.synth(text, rate_wpm, pitch, volume, pitch_range, voice, int(seed))
        sample_rate = engine.sample_rate
    return (samples.astype(np.float32) / 32768.0), sample_rate

"""The synthetic Hume-Vidmimic2 generator: plan every clip, speak, draw, encode, write the layout.

Planning (:func:`plan_dataset`) is cheap and fully determined by the settings and the seed: labels
and latents per split, subjects disjoint across splits, each clip's nuisances and transcript. Speech
is synthesized in the parent process in a fixed order (eSpeak NG keeps a little state between
utterances, so a fixed order keeps the audio reproducible); drawing and encoding run in a process
pool. See docs/dataset.md for the generative model.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from emibench.data.synthetic import face, phrases, soundtrack
from emibench.data.synthetic.encode import truncate_file, write_audio_file, write_mp4
from emibench.data.synthetic.labels import synth_labels
from emibench.data.synthetic.settings import SynthSettings
from emibench.data.tables import write_table
from emibench.emotions import EMOTIONS, SPLITS, format_id

log = logging.getLogger(__name__)

LABEL_HEADER = ["Filename", *EMOTIONS]
WAV_RATE = 16000
MAX_PHRASES = 8
SENSOR_NOISE_FRAMES = 4

# Odd clips appended to valid and test when `edge_cases` is on: name -> overrides of the plan.
EDGE_CASES: dict[str, dict[str, tuple[str, ...]]] = {
    "valid": ("truncated", "portrait", "ntsc", "long"),
    "test": ("truncated_nomoov", "fps60", "tiny"),
}
EDGE_OVERRIDES: dict[str, dict[str, Any]] = {
    "truncated": {"faststart": True, "truncate": 0.4},  # index intact, media data cut short
    "truncated_nomoov": {"truncate": 0.6},  # index (written last) missing
    "portrait": {"width": 480, "height": 640, "audio_rate": 48000, "audio_channels": 2},
    "ntsc": {"fps": Fraction(30000, 1001)},
    "fps60": {"fps": Fraction(60)},
    "tiny": {"duration_s": 0.12},
    "long": {"duration_s": 125.0, "width": 64, "height": 48, "fps": Fraction(10), "detail": False},
}


@dataclass(frozen=True)
class ClipPlan:
    """Everything needed to render one clip, decided before any media is made."""

    id: int
    split: str
    subject: str
    look: face.Look
    voice: soundtrack.Voice
    latents: np.ndarray
    labels: np.ndarray
    duration_s: float
    fps: Fraction
    width: int
    height: int
    occluder: str
    silent: bool
    has_audio_track: bool
    has_audio_file: bool
    snr_db: float
    mic_gain: float
    audio_rate: int
    audio_channels: int
    phrases: tuple[str, ...]
    onsets: tuple[float, ...]
    prosody: np.ndarray = field(repr=False)
    seed: tuple[int, ...] = ()
    visual_strength: float = 0.7
    edge_case: str = ""
    faststart: bool = False
    truncate: float = 0.0
    detail: bool = True

    @property
    def n_frames(self) -> int:
        return max(1, round(self.duration_s * self.fps))

    @property
    def transcript(self) -> str:
        return " ".join(self.phrases)


def as_fraction(fps: float) -> Fraction:
    """A frame rate as a Fraction, with the NTSC rates (23.976, 29.97, 59.94) made exact."""
    for exact in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)):
        if abs(float(fps) - float(exact)) < 2e-3:
            return exact
    return Fraction(fps).limit_denominator(1000)


def _subjects(settings: SynthSettings) -> dict[str, list[tuple[str, face.Look, soundtrack.Voice]]]:
    """Subjects per split (disjoint: each has its own index), with appearance and voice."""
    out, index = {}, 0
    for split in SPLITS:
        out[split] = []
        for _ in range(settings.subjects[split]):
            rng = np.random.default_rng([settings.seed, 7, index])
            out[split].append(
                (
                    f"S{index:03d}",
                    face.sample_look(rng),
                    soundtrack.sample_voice(rng, settings.voices),
                )
            )
            index += 1
    return out


def _plan_transcript(
    rng: np.random.Generator,
    latents: np.ndarray,
    centre: np.ndarray,
    settings: SynthSettings,
    duration: float,
) -> tuple[tuple[str, ...], tuple[float, ...], np.ndarray]:
    """Phrases, onsets (s) and prosody (n, 7) that fit the clip, decided from estimated lengths.

    A phrase that does not fit is asked for again (another wording, see ``sample_phrase``), four
    misses in all end the clip's speech.
    """
    texts, onsets, params = [], [], []
    t = float(rng.uniform(0.05, 0.3)) * min(1.0, duration / 3)
    misses = attempt = 0
    while len(texts) < MAX_PHRASES and misses < 4:
        text, _ = phrases.sample_phrase(rng, latents, settings.signal["text"], len(texts), attempt)
        q = soundtrack.phrase_prosody(rng, centre)
        length = soundtrack.estimated_seconds(text, q[1]) + soundtrack.BURST_S
        if t + length > duration - 0.05:
            misses += 1
            attempt += 1
            continue
        attempt = 0
        texts.append(text)
        onsets.append(round(t, 4))
        params.append(q)
        t += length + float(rng.uniform(0.1, 0.3))
    return tuple(texts), tuple(onsets), np.array(params).reshape(-1, len(soundtrack.PROSODY))


def _plan_clip(
    settings: SynthSettings,
    clip_id: int,
    split: str,
    subject: tuple[str, face.Look, soundtrack.Voice],
    latents: np.ndarray,
    labels: np.ndarray,
    edge_case: str = "",
) -> ClipPlan:
    seed = (settings.seed, 1, clip_id)
    rng = np.random.default_rng(seed)
    overrides = dict(EDGE_OVERRIDES.get(edge_case, {}))
    duration = float(overrides.pop("duration_s", rng.uniform(*settings.duration_s)))
    fps = overrides.pop("fps", as_fraction(settings.fps[int(rng.integers(len(settings.fps)))]))
    # exact clip length: a whole number of frames
    duration = max(1, round(duration * fps)) / fps
    occluded = rng.uniform() < settings.occluded_share
    occluder = face.OCCLUDERS[int(rng.integers(len(face.OCCLUDERS)))] if occluded else ""
    u = rng.uniform()
    has_track = u >= settings.no_audio_track_share
    silent = has_track and u < settings.no_audio_track_share + settings.silent_share
    has_file = has_track and rng.uniform() < settings.audio_file_share
    snr = float(rng.uniform(*settings.snr_db))
    gain = float(rng.uniform(0.6, 1.4))
    name, look, voice = subject
    centre = soundtrack.clip_prosody(rng, voice, latents, settings.signal["audio"])
    # the room noise is set against the subject's usual loudness: louder speech, higher SNR
    snr += soundtrack.loudness_db(centre, voice)
    texts, onsets, params = (), (), np.zeros((0, len(soundtrack.PROSODY)))
    if has_track and not silent:
        texts, onsets, params = _plan_transcript(rng, latents, centre, settings, float(duration))
    width, height = settings.frame_size
    plan = ClipPlan(
        id=clip_id,
        split=split,
        subject=name,
        look=look,
        voice=voice,
        latents=latents,
        labels=labels,
        duration_s=float(duration),
        fps=fps,
        width=width,
        height=height,
        occluder=occluder,
        silent=silent or (has_track and not texts),
        has_audio_track=has_track,
        has_audio_file=has_file,
        snr_db=snr,
        mic_gain=gain,
        audio_rate=settings.audio_rate,
        audio_channels=1,
        phrases=texts,
        onsets=onsets,
        prosody=params,
        seed=seed,
        visual_strength=settings.signal["visual"],
        edge_case=edge_case,
    )
    return replace(plan, **overrides)


def plan_dataset(settings: SynthSettings) -> list[ClipPlan]:
    """Every clip of the dataset, ids consecutive over train, valid, test (edge cases last)."""
    subjects = _subjects(settings)
    plans: list[ClipPlan] = []
    next_id = 0
    for s, split in enumerate(SPLITS):
        edges = EDGE_CASES.get(split, ()) if settings.edge_cases else ()
        n = settings.clips[split] + len(edges)
        rng = np.random.default_rng([settings.seed, 0, s])
        latents, labels = synth_labels(
            rng, n, settings.nonzero_share, settings.excitement_joy_corr, settings.annotators
        )
        who = rng.integers(len(subjects[split]), size=n)
        for i in range(n):
            edge = edges[i - settings.clips[split]] if i >= settings.clips[split] else ""
            plans.append(
                _plan_clip(
                    settings, next_id, split, subjects[split][who[i]], latents[i], labels[i], edge
                )
            )
            next_id += 1
    return plans


def render_clip(
    plan: ClipPlan, speech: np.ndarray | None, root: Path, audio_format: str = "wav"
) -> dict[str, Any]:
    """Draw and encode one clip into ``root``; returns what was measured (rms levels, frames).

    The separate audio file (``plan.has_audio_file``) is ``audio/{id}.<audio_format>`` (wav or mp3).
    """
    rng = np.random.default_rng([*plan.seed, 2])
    n_frames = plan.n_frames
    t = np.arange(n_frames) / float(plan.fps)
    expr, pose = face.expression_track(rng, plan.latents, plan.look, t, plan.visual_strength)
    background = face.draw_background(plan.look, plan.width, plan.height, rng)
    painter = face.FacePainter(plan.look, plan.width, plan.height, plan.occluder or None)
    brightness = float(rng.uniform(0.8, 1.15))
    sigma = float(rng.uniform(2, 6)) if plan.detail else 0.0
    grain = [
        rng.normal(0, sigma, (plan.height, plan.width, 3)).astype(np.int16)
        for _ in range(SENSOR_NOISE_FRAMES if sigma else 0)
    ]

    def frames():
        for i in range(n_frames):
            img = painter.draw(background.copy(), expr[i].tolist(), pose[i].tolist())
            img = cv2.convertScaleAbs(img, alpha=brightness)
            if grain:
                img = cv2.add(img, grain[i % len(grain)], dtype=cv2.CV_8U)
            yield img

    audio = wav = None
    speech_rms = noise_rms = 0.0
    if plan.has_audio_track:
        if speech is None:
            speech = np.zeros(max(1, round(plan.duration_s * soundtrack.SPEECH_RATE)), np.float32)
        mixed, speech_rms, noise_rms = soundtrack.mix(
            rng, speech, None if plan.silent else plan.snr_db, plan.mic_gain, soundtrack.SPEECH_RATE
        )
        audio = soundtrack.resample(mixed, soundtrack.SPEECH_RATE, plan.audio_rate)
        if plan.audio_channels == 2:  # a second microphone: slightly delayed and quieter
            audio = np.stack([audio, 0.9 * np.roll(audio, 7)])
        if plan.has_audio_file:
            wav = soundtrack.resample(mixed, soundtrack.SPEECH_RATE, WAV_RATE)

    stem = format_id(plan.id)
    video_path = root / "raw" / f"{stem}.mp4"
    written = write_mp4(
        video_path,
        frames(),
        plan.fps,
        plan.width,
        plan.height,
        audio=audio,
        audio_rate=plan.audio_rate,
        faststart=plan.faststart,
    )
    if wav is not None:
        write_audio_file(root / "audio" / f"{stem}.{audio_format}", wav, WAV_RATE)
    if plan.truncate:
        truncate_file(video_path, plan.truncate)
    return {"id": plan.id, "n_frames": written, "speech_rms": speech_rms, "noise_rms": noise_rms}


def clip_speech(plan: ClipPlan) -> np.ndarray | None:
    """The clip's spoken phrases at eSpeak's rate, or None for a clip without speech.

    Call it in one fixed order in one process: eSpeak carries a little state between utterances.
    """
    if not plan.phrases:
        return None
    return soundtrack.speech_track(
        list(plan.phrases),
        list(plan.onsets),
        plan.prosody,
        plan.voice.name,
        plan.duration_s,
        seed=plan.id * MAX_PHRASES,
    )


def latents_table(plans: list[ClipPlan]) -> pd.DataFrame:
    """The clean latents and nuisance parameters of every clip (``latents.csv``).

    Only planned values, so the table is identical for a seed; measured levels are logged.
    """
    rows = []
    for p in plans:
        rows.append(
            {
                "id": format_id(p.id),
                "split": p.split,
                "subject": p.subject,
                **{f"latent_{e}": round(float(v), 6) for e, v in zip(EMOTIONS, p.latents)},
                "occluded": bool(p.occluder),
                "occluder": p.occluder,
                "silent": p.silent,
                "has_audio_track": p.has_audio_track,
                "has_audio_file": p.has_audio_file,
                "snr_db": round(p.snr_db, 3) if p.has_audio_track and not p.silent else np.nan,
                "fps": round(float(p.fps), 6),
                "duration_s": round(p.duration_s, 6),
                "width": p.width,
                "height": p.height,
                "n_frames": p.n_frames,
                "audio_rate": p.audio_rate if p.has_audio_track else 0,
                "audio_channels": p.audio_channels if p.has_audio_track else 0,
                "voice": p.voice.name,
                "edge_case": p.edge_case,
                "transcript": p.transcript,
            }
        )
    return pd.DataFrame(rows)


def write_label_files(plans: list[ClipPlan], root: Path) -> None:
    """``{split}_split.csv`` (test: Filename only) and ``test_labels.csv``, real header."""
    for split in SPLITS:
        rows = [p for p in plans if p.split == split]
        frame = pd.DataFrame([[p.id, *p.labels] for p in rows], columns=LABEL_HEADER)
        if split == "test":
            frame.to_csv(root / "test_labels.csv", index=False)
            frame = frame[["Filename"]]
        frame.to_csv(root / f"{split}_split.csv", index=False)


def _prepare_root(root: Path) -> None:
    """Create the root; clear media of an earlier synthetic set, never of a real one."""
    for sub in ("raw", "audio"):
        folder = root / sub
        if folder.exists() and any(folder.iterdir()):
            if not (root / "latents.csv").exists():
                raise FileExistsError(
                    f"{folder} holds files but {root} is not a synthetic dataset (no latents.csv); "
                    "refusing to overwrite it: choose an empty dataset.root"
                )
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)


def _pool(threads: int) -> ProcessPoolExecutor:
    methods = mp.get_all_start_methods()
    context = mp.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=threads, mp_context=context)


def render_clips(
    plans: list[ClipPlan], root: Path, threads: int = 1, audio_format: str = "wav"
) -> dict[int, dict[str, Any]]:
    """Render every plan into ``root`` (``raw/`` and ``audio/`` must exist); measured values by id.

    Speech is synthesized here, in one fixed order (largest clips first); drawing and encoding run
    in ``threads`` processes.
    """
    # longest clips first, so a long edge case does not end up as the tail of the pool
    order = sorted(plans, key=lambda p: (-p.n_frames * p.width * p.height, p.id))
    measured: dict[int, dict[str, Any]] = {}
    bar = tqdm(total=len(plans), desc="synth", unit="clip", mininterval=5)
    if threads <= 1:
        for plan in order:
            measured[plan.id] = render_clip(plan, clip_speech(plan), root, audio_format)
            bar.update()
    else:
        with _pool(threads) as pool:
            pending: set[Future] = set()
            for plan in order:
                pending.add(pool.submit(render_clip, plan, clip_speech(plan), root, audio_format))
                if len(pending) >= 4 * threads:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        result = fut.result()
                        measured[result["id"]] = result
                        bar.update()
            for fut in pending:
                result = fut.result()
                measured[result["id"]] = result
                bar.update()
    bar.close()
    return measured


def generate(settings: SynthSettings, root: str | Path, threads: int = 1) -> pd.DataFrame:
    """Write the whole synthetic dataset into ``root``; returns the latents table."""
    root = Path(root)
    start = time.perf_counter()
    plans = plan_dataset(settings)
    root.mkdir(parents=True, exist_ok=True)
    _prepare_root(root)
    for name in ("latents.csv", "test_labels.csv"):  # written last: a partial run is visible
        (root / name).unlink(missing_ok=True)
    log.info(
        "synthesizing %d clips (%s) into %s with %d worker(s)",
        len(plans),
        ", ".join(f"{s} {sum(p.split == s for p in plans)}" for s in SPLITS),
        root,
        threads,
    )
    measured = render_clips(plans, root, threads)
    (root / "phrases.txt").write_text("\n".join(phrases.phrase_bank()) + "\n")
    write_label_files(plans, root)
    table = latents_table(plans)
    write_table(table, root / "latents.csv")
    snr = [
        20 * np.log10(m["speech_rms"] / m["noise_rms"])
        for m in measured.values()
        if m["speech_rms"] > 0 and m["noise_rms"] > 0
    ]
    if snr:
        log.info(
            "measured speech-to-noise ratio: median %.1f dB over %d clips", np.median(snr), len(snr)
        )
    log.info(
        "synthesized %d clips (%.1f min of video; %d silent, %d without audio track, %d occluded, "
        "%d edge cases) in %.1f s",
        len(plans),
        table["duration_s"].sum() / 60,
        int(table["silent"].sum()),
        int((~table["has_audio_track"]).sum()),
        int(table["occluded"].sum()),
        int((table["edge_case"] != "").sum()),
        time.perf_counter() - start,
    )
    return table

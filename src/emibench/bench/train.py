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

``--systems`` picks systems; ``SYSTEM/VARIANT`` builds that variant as the trainer does, with the
encoders a model trains end to end (TAEMI's ``VAT_taemi``: raw 16 kHz waves cut at its
``max_audio_s`` and token ids, capped at the text encoder's ``max_length``), its optimizer groups
and ``train`` settings. ``--batch-size`` and ``--gradient-checkpointing`` give more
configurations.

Figures: clips/s and ms per step, per device and precision (bf16 autocast on CUDA), with the batch
size and parameter count. With ``--memory``: the peak memory of one step instead, each
configuration in a fresh child process (so peaks do not mix): on the CPU the child's peak resident
set (``VmHWM``), on CUDA ``torch.cuda.max_memory_allocated``. The child first runs one step on a
one-clip, 1 s batch, which allocates the gradients and the optimizer state as every step after the
trainer's first finds them, then the measured step at full size. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from emibench.bench.machine import measure, sync
from emibench.settings import ConfigError

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
    parser.add_argument(
        "--systems",
        nargs="+",
        default=[],
        metavar="SYSTEM[/VARIANT]",
        help="only these systems (default: every trained one, on features); SYSTEM/VARIANT builds "
        "that variant as the trainer does, with the encoders it trains end to end "
        "(e.g. taemi/VAT_taemi)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        nargs="+",
        default=[],
        help="batch sizes, one configuration each (default: each system's train.batch_size)",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        nargs="+",
        choices=["config", "on", "off"],
        default=["config"],
        help="gradient checkpointing in the encoders a model holds, one configuration each "
        "(config: the variant's train.gradient_checkpointing)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="measure the peak memory of one training step instead of timing: each configuration "
        "in a fresh child process; CPU: its peak resident set (VmHWM), CUDA: "
        "torch.cuda.max_memory_allocated",
    )
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=0.0,
        help="with --memory, kill a child whose resident set passes this many GB and report it "
        "(0: no limit)",
    )
    parser.set_defaults(func=run)


@dataclass
class Configuration:
    """What one figure was measured on; ``head`` prints it."""

    config: str
    system: str
    modalities: str
    device: str
    precision: str
    batch: int
    checkpointing: bool

    def head(self) -> str:
        return (
            f"{self.config:<14} {self.system:<20} {self.modalities:<4} {self.device:<5} "
            f"{self.precision:<5} batch {self.batch:>4}  ckpt {_on(self.checkpointing):<3}"
        )


@dataclass
class Figure(Configuration):
    params: int
    clips_per_s: float
    ms_per_step: float

    def line(self) -> str:
        return (
            f"{self.head()}  params {self.params / 1e3:8.1f} k  "
            f"{self.clips_per_s:>9.1f} clips/s  {self.ms_per_step:>8.1f} ms/step"
        )


@dataclass
class MemoryFigure(Configuration):
    """The peak memory of one training step of one configuration, measured in a child process.

    peak_gb: the child's peak resident set (CPU) or max_memory_allocated (CUDA), GB (1e9 bytes);
    built_gb: resident set (CPU) or memory allocated (CUDA) once the model, optimizer and
    batches were built; warm_gb: the peak resident set (CPU) or memory allocated (CUDA) after
    the warm-up step, with gradients and optimizer state; error: why there is no figure (the
    child failed or was killed)."""

    params: int = 0
    built_gb: float = 0.0
    warm_gb: float = 0.0
    peak_gb: float = 0.0
    step_s: float = 0.0
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.head()}  no figure: {self.error}"
        what = "peak RSS" if self.device == "cpu" else "peak allocated"
        return (
            f"{self.head()}  params {self.params / 1e6:8.1f} M  built {self.built_gb:6.2f} GB  "
            f"after warm-up {self.warm_gb:6.2f} GB  {what} {self.peak_gb:6.2f} GB  "
            f"step {self.step_s:7.1f} s"
        )


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def parse_dims(text: str, option: str = "--official-dims") -> dict[str, int]:
    """``"V=768,A=768,T=768"`` -> {"V": 768, ...}; errors name ``option``."""
    dims = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key not in ("V", "A", "T") or not value.isdigit():
            raise ValueError(f"{option}: expected M=width with M in V, A, T; got {part!r}")
        dims[key] = int(value)
    return dims


def _featset_widths(
    config: dict, official: dict[str, int], encoders: dict[str, int]
) -> dict[str, dict[str, int]]:
    """Feature widths of the frozen and stage1 sets (others: ``official``)."""
    stage1 = config.get("stage1", {})
    proj = int(stage1.get("proj_dim", 256))
    widths = {"frozen": dict(encoders), "stage1": dict(encoders)}
    if stage1.get("features", "encoder") == "head":
        widths["stage1"] = {m: proj for m in "VAT"}
    return widths


def trained_systems(
    config: dict, official: dict[str, int], encoders: dict[str, int]
) -> list[tuple[str, dict]]:
    """``(system, {model, modalities, dims, batch_size})`` for each system that trains a model.

    A model that trains encoders end to end (TAEMI) is timed on stored features: the fusion
    model alone, without its encoders (see :func:`variant_spec` for the end-to-end form)."""
    from emibench.models.registry import on_features

    train = config.get("train", {})
    defaults = train.get("defaults", {})
    widths = _featset_widths(config, official, encoders)
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


def variant_spec(
    config: dict, name: str, official: dict[str, int], encoders: dict[str, int]
) -> dict:
    """The spec of ``system/variant`` resolved as the trainer builds it: its model config with
    the encoders it trains end to end, its features' widths and its ``train`` settings."""
    from emibench.plan.runs import resolve_variant
    from emibench.train.trainer import RunSpec

    system, _, variant = name.partition("/")
    systems = config.get("train", {}).get("systems", {})
    if variant not in (systems.get(system) or {}).get("variants", {}):
        raise ConfigError(f"--systems: {name!r} is not a system/variant of the config")
    resolved = resolve_variant(config, system, variant)
    if resolved.kind != "model":
        raise ConfigError(f"--systems: {name!r} trains no model ({resolved.kind})")
    run = RunSpec.from_config(system, variant, 0, resolved.config)
    widths = _featset_widths(config, official, encoders)
    return {
        "model": run.model,
        "modalities": run.modalities,
        "dims": widths.get(run.features, official),
        "batch_size": run.train.batch_size,
        "audio_hz": NATIVE_AUDIO_HZ if run.train.audio_rate == "native" else FEATURE_RATE_HZ,
        "max_steps": run.train.max_steps,
        "train": dataclasses.asdict(run.train),
    }


def selected_systems(
    config: dict, names: list[str], official: dict[str, int], encoders: dict[str, int]
) -> list[tuple[str, dict]]:
    """``--systems``: every trained system (empty ``names``), or the named systems and
    system/variants, in the order given."""
    systems = trained_systems(config, official, encoders)
    if not names:
        return systems
    by_name = dict(systems)
    out = []
    for name in names:
        if "/" in name:
            out.append((name, variant_spec(config, name, official, encoders)))
        elif name in by_name:
            out.append((name, by_name[name]))
        else:
            raise ConfigError(
                f"--systems: {name!r} is not a trained system of the config ({', '.join(by_name)})"
            )
    return out


def random_lengths(
    rng: np.random.Generator,
    batch: int,
    seconds: tuple[float, float],
    tokens: int,
    audio_hz: float = FEATURE_RATE_HZ,
    max_steps: int = 0,
    sample_rate: int = 0,
    max_audio_s: float = 0.0,
) -> dict[str, list[int]]:
    """Steps per clip: visual at 5 Hz, audio at ``audio_hz``, both capped at ``max_steps`` (> 0)
    as the trainer does; text tokens; with ``sample_rate``, ``wave``: raw samples per clip, cut
    at ``max_audio_s`` (> 0) as the data is for a model that encodes audio itself."""
    durations = rng.uniform(*seconds, size=batch)
    cap = (lambda n: min(n, max_steps)) if max_steps > 0 else (lambda n: n)
    out = {
        "V": [cap(max(1, round(d * FEATURE_RATE_HZ))) for d in durations],
        "A": [cap(max(1, round(d * audio_hz))) for d in durations],
        "T": [int(rng.integers(max(1, tokens // 3), tokens + 1)) for _ in range(batch)],
    }
    if sample_rate:
        cut = [min(d, max_audio_s) if max_audio_s > 0 else d for d in durations]
        out["wave"] = [max(1, round(d * sample_rate)) for d in cut]
    return out


def make_batch(spec: dict, model, batch: int, seconds: tuple[float, float], tokens: int, seed: int):
    """A random padded batch of ``batch`` clips for ``model``: stored features of the
    modalities it reads as features, raw waves and token ids of those it encodes itself."""
    import torch

    from emibench.models.inputs import Batch, Tokens, Waves, random_batch
    from emibench.models.registry import raw_modalities

    raw = raw_modalities(spec["model"], spec["modalities"])
    encoders = getattr(model, "encoders", {})
    rate = int(encoders["A"].sample_rate) if "A" in raw else 0
    if "T" in raw:
        tokens = min(tokens, int(spec["model"]["text_encoder"].get("max_length", 128)))
    rng = np.random.default_rng(seed)
    lengths = random_lengths(
        rng,
        batch,
        seconds,
        tokens,
        spec["audio_hz"],
        spec["max_steps"],
        rate,
        float(spec["model"].get("max_audio_s", 0.0)),
    )
    stored = {m: v for m, v in lengths.items() if m in spec["modalities"] and m not in raw}
    g = torch.Generator().manual_seed(seed)
    out = (
        random_batch(stored, spec["dims"], seed=seed)
        if stored
        else Batch(ids=[f"{k:05d}" for k in range(batch)], labels=torch.rand(batch, 6, generator=g))
    )
    present = torch.ones(batch, dtype=torch.bool)
    if "A" in raw:
        n = torch.tensor(lengths["wave"])
        real = torch.arange(int(n.max()))[None] < n[:, None]
        out.wave = Waves(torch.randn(len(n), real.shape[1], generator=g) * 0.1 * real, n, present)
    if "T" in raw:
        n = torch.tensor(lengths["T"])
        mask = torch.arange(int(n.max()))[None] < n[:, None]
        vocab = int(encoders["T"].model.config.vocab_size)
        ids = torch.randint(1000, vocab, mask.shape, generator=g) * mask
        out.tokens = Tokens(ids, mask, present)
    return out


def build_step(
    spec: dict,
    batch_size: int,
    checkpointing: str,
    precision: str,
    device,
    seconds: tuple[float, float],
    tokens: int,
    n_batches: int = 4,
):
    """The model of ``spec`` on ``device`` with the trainer's optimizer (its encoders in their
    own group, frozen ones frozen) and its step on ``n_batches`` random batches taken in turn.

    Returns (step, model, train config); ``step(batch=None)`` runs one training step."""
    import torch

    from emibench.models.registry import build_model
    from emibench.train.losses import make_loss
    from emibench.train.trainer import (
        TrainConfig,
        _optimizer,
        enable_gradient_checkpointing,
        freeze_encoders,
        train_step,
    )

    if "train" in spec:
        cfg = TrainConfig(**{**spec["train"], "precision": precision})
    else:
        cfg = TrainConfig(precision=precision, grad_clip=1.0)
    if checkpointing != "config":
        cfg = dataclasses.replace(cfg, gradient_checkpointing=checkpointing == "on")
    torch.manual_seed(0)
    model = build_model(dict(spec["model"]), spec["dims"], spec["modalities"]).to(device)
    if cfg.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    model.train()
    for module in freeze_encoders(model, cfg):
        module.eval()
    batches = [
        make_batch(spec, model, batch_size, seconds, tokens, seed=k).to(device)
        for k in range(n_batches)
    ]
    opt = _optimizer(model, cfg)
    loss_fn = make_loss(cfg.loss, cfg.loss_weight)
    state = {"k": 0}

    def step(batch=None) -> None:
        if batch is None:
            batch = batches[state["k"] % len(batches)]
            state["k"] += 1
        train_step(model, batch, opt, loss_fn, cfg, device)

    return step, model, cfg


def _shown_precision(device, precision: str) -> str:
    shown = precision if device.type == "cuda" and precision != "fp32" else "fp32"
    return "bf16" if shown == "auto" else shown


def bench_system(
    label: str,
    name: str,
    spec: dict,
    device,
    precision: str,
    args: argparse.Namespace,
    batch_size: int = 0,
    checkpointing: str = "config",
) -> Figure:
    batch_size = batch_size or spec["batch_size"]
    step, model, cfg = build_step(
        spec, batch_size, checkpointing, precision, device, args.clip_seconds, args.tokens
    )
    elapsed, n = measure(step, device, args.seconds)
    return Figure(
        config=label,
        system=name,
        modalities=spec["modalities"],
        device=device.type,
        precision=_shown_precision(device, precision),
        batch=batch_size,
        params=sum(p.numel() for p in model.parameters()),
        clips_per_s=n * batch_size / elapsed,
        ms_per_step=1000 * elapsed / n,
        checkpointing=cfg.gradient_checkpointing,
    )


def _status_gb(field: str, pid: str = "self") -> float:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM) in GB; 0 where there is none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return 0.0


def _peak_rss_gb() -> float:
    """This process's peak resident set: VmHWM, or ru_maxrss where /proc is absent."""
    import resource

    peak = _status_gb("VmHWM")
    if peak:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 1e9 if sys.platform == "darwin" else maxrss * 1024 / 1e9


def memory_child(job: dict) -> dict:
    """In a fresh process: build a configuration, run a step on a one-clip 1 s batch (gradients
    and optimizer state allocated), then one measured step; returns the figures."""
    import torch

    torch.set_num_threads(int(job["threads"]))
    device = torch.device(job["device"])
    spec = job["spec"]
    step, model, cfg = build_step(
        spec,
        job["batch"],
        job["checkpointing"],
        job["precision"],
        device,
        tuple(job["clip_seconds"]),
        job["tokens"],
        n_batches=1,
    )
    cuda = device.type == "cuda"
    built = torch.cuda.memory_allocated(device) / 1e9 if cuda else _status_gb("VmRSS")
    step(make_batch(spec, model, 1, (1.0, 1.0), job["tokens"], seed=99).to(device))
    sync(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    warm = torch.cuda.memory_allocated(device) / 1e9 if cuda else _peak_rss_gb()
    start = time.perf_counter()
    step()
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if cuda else _peak_rss_gb()
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "checkpointing": cfg.gradient_checkpointing,
        "built_gb": built,
        "warm_gb": warm,
        "peak_gb": peak,
        "step_s": seconds,
    }


def run_child(job: dict, max_rss_gb: float = 0.0) -> dict:
    """``memory_child(job)`` in a fresh Python process (this package on its path); with
    ``max_rss_gb`` the child is killed once its resident set passes it. Returns its figures,
    or ``{"error": ...}``."""
    import emibench

    env = dict(os.environ)
    src = str(Path(emibench.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emibench.bench.train", "--memory-child"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            text=True,
            env=env,
        )
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        over = 0.0
        while proc.poll() is None:
            rss = _status_gb("VmRSS", str(proc.pid))
            if max_rss_gb and rss > max_rss_gb:
                over = rss
                proc.kill()
                proc.wait()
                break
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        out, err = out.read(), err.read()
    if over:
        return {"error": f"killed at {over:.2f} GB resident, over --max-rss-gb {max_rss_gb:g}"}
    if proc.returncode != 0:
        killed = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
        tail = err.strip().splitlines()[-1:] or [""]
        return {"error": f"child exited {proc.returncode}{killed}: {tail[0]}"}
    return json.loads(out.strip().splitlines()[-1])


def memory_figures(
    label: str, name: str, spec: dict, device: str, args: argparse.Namespace
) -> list[MemoryFigure]:
    """One MemoryFigure per batch size and checkpointing setting, each from its own child."""
    import torch

    figures = []
    for batch in args.batch_size or [spec["batch_size"]]:
        for checkpointing in args.gradient_checkpointing:
            job = {
                "spec": spec,
                "batch": batch,
                "checkpointing": checkpointing,
                "precision": args.precision,
                "device": device,
                "clip_seconds": list(args.clip_seconds),
                "tokens": args.tokens,
                "threads": args.threads,
            }
            result = run_child(job, args.max_rss_gb)
            on = (
                checkpointing == "on"
                if checkpointing != "config"
                else bool(spec.get("train", {}).get("gradient_checkpointing", False))
            )
            fig = MemoryFigure(
                config=label,
                system=name,
                modalities=spec["modalities"],
                device=device,
                precision=_shown_precision(torch.device(device), args.precision),
                batch=batch,
                checkpointing=result.get("checkpointing", on),
                **{k: v for k, v in result.items() if k != "checkpointing"},
            )
            print(fig.line(), flush=True)
            figures.append(fig)
    return figures


def run(args: argparse.Namespace) -> int:
    import torch

    from emibench.bench.machine import bench_devices, describe_machine

    devices = bench_devices(args.devices)
    official = parse_dims(args.official_dims)
    encoders = parse_dims(args.encoder_dims, "--encoder-dims")
    start = time.perf_counter()
    figures: list = []
    for path in args.configs:
        config = yaml.safe_load(Path(path).read_text()) or {}
        label = Path(path).stem
        for name, spec in selected_systems(config, args.systems, official, encoders):
            for dev_name in devices:
                if args.memory:
                    figures += memory_figures(label, name, spec, dev_name, args)
                    continue
                device = torch.device(dev_name)
                for batch in args.batch_size or [spec["batch_size"]]:
                    for checkpointing in args.gradient_checkpointing:
                        fig = bench_system(
                            label, name, spec, device, args.precision, args, batch, checkpointing
                        )
                        log.info("%s", fig.line())
                        figures.append(fig)
    print(f"# emibench bench train on {describe_machine()}, {args.threads} CPU thread(s)")
    print(
        f"# clips {args.clip_seconds[0]:g}-{args.clip_seconds[1]:g} s, visual at "
        f"{FEATURE_RATE_HZ:g} Hz, audio at {NATIVE_AUDIO_HZ:g} Hz where a system reads it native, "
        f"up to {args.tokens} tokens; official dims {args.official_dims}; "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.memory:
        print(
            "# peak memory of one step after a warm-up step on a one-clip 1 s batch, each "
            "configuration in a fresh child process: CPU peak RSS (VmHWM, whole process), "
            "CUDA max_memory_allocated; GB = 1e9 bytes"
        )
    for fig in figures:
        print(fig.line())
    return 0


def _child_main() -> int:
    """``python -m emibench.bench.train --memory-child``: a job (JSON) on stdin, its figures
    (JSON) as the last line of stdout."""
    logging.basicConfig(level=logging.WARNING)
    job = json.loads(sys.stdin.read())
    print(json.dumps(memory_child(job)), flush=True)
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["--memory-child"]:
    sys.exit(_child_main())

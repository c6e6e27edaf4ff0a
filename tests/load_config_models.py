"""Load a config's encoders and ASR model by the names it gives, through the workflow's loaders.

Usage: ``python tests/load_config_models.py CONFIG [CONFIG ...]`` (later files override earlier
ones, as with snakemake's ``--configfile``). With ``HF_HOME`` pointing at a cache written by
``emibench make-rehearsal-models`` and ``HF_HUB_OFFLINE=1``, this proves that the real config's
hub names load through ``emibench.encoders.registry.load_encoder`` and
``emibench.asr.transcribe.make_transcriber``, the same calls the feature and ASR rules make.
Prints one JSON line per model: config key, name, feature width, load time, one forward pass.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
import yaml

from emibench.asr.settings import AsrSettings
from emibench.asr.transcribe import make_transcriber
from emibench.encoders.registry import load_encoder
from emibench.encoders.rehearsal import deep_merge
from emibench.settings import settings_from

SAMPLE_RATE = 16000


def read_configs(paths: list[str]) -> dict:
    config: dict = {}
    for path in paths:
        with open(path) as handle:
            config = deep_merge(config, yaml.safe_load(handle) or {})
    return config


def probe_encoder(kind: str, key: str, spec: dict) -> dict:
    start = time.perf_counter()
    encoder = load_encoder(kind, spec, key)
    loaded = time.perf_counter() - start
    with torch.no_grad():
        start = time.perf_counter()
        if kind == "vision":
            out = encoder(torch.randint(0, 256, (2, 180, 240, 3), dtype=torch.uint8))
        elif kind == "audio":
            out = encoder([np.random.default_rng(0).normal(0, 0.1, 2 * SAMPLE_RATE).astype("f4")])
            out = out[0]
        else:
            out = encoder(["hello there", "what a day it has been"])[0]
        ran = time.perf_counter() - start
    return {
        "key": key,
        "name": spec.get("name") or f"{spec['model_name']}/{spec.get('pretrained', '')}",
        "width": int(encoder.dim),
        "output": list(out.shape),
        "load_s": round(loaded, 1),
        "forward_s": round(ran, 2),
    }


def probe_asr(section: dict) -> dict:
    settings = settings_from(AsrSettings, section, "preprocess.asr")
    start = time.perf_counter()
    transcriber = make_transcriber(settings, device="cpu")
    loaded = time.perf_counter() - start
    samples = np.random.default_rng(0).normal(0, 0.1, 3 * SAMPLE_RATE).astype(np.float32)
    start = time.perf_counter()
    (result,) = transcriber.transcribe([("00000", samples)])
    return {
        "key": "preprocess.asr",
        "name": settings.model,
        "load_s": round(loaded, 1),
        "transcribe_3s_s": round(time.perf_counter() - start, 1),
        "status": result.status,
        "language": result.language,
    }


def main(paths: list[str]) -> int:
    config = read_configs(paths)
    encoders = config["encoders"]
    for key in ("vision", "audio", "text"):
        print(json.dumps(probe_encoder(key, f"encoders.{key}", encoders[key])), flush=True)
    print(json.dumps(probe_asr(config["preprocess"]["asr"])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

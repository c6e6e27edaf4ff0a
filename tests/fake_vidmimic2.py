"""A tiny fake Hume-Vidmimic2 root in the real layout, for dry runs of config/vidmimic2.yaml.

Usage: ``python tests/fake_vidmimic2.py ROOT``. Two clips per split: real (tiny) H.264 mp4s with
AAC audio, organiser-style ``vit``/``wav2vec2`` pickles, train/valid labels, test ids only.
"""

from __future__ import annotations

import pickle
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HEADER = "Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy"
SPLIT_IDS = {"train": [0, 1], "valid": [2, 3], "test": [4, 5]}


def write_clip(path: Path, seconds: float = 0.6, fps: int = 10, rate: int = 16000) -> None:
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((32, 32, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        samples = (0.1 * np.sin(np.arange(int(seconds * rate)) / 10.0)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        frame.time_base = Fraction(1, rate)
        frame.pts = 0
        for packet in audio.encode(frame):
            container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


def make_root(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("raw", "vit", "wav2vec2"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for split, ids in SPLIT_IDS.items():
        rows = [HEADER if split != "test" else "Filename"]
        for i in ids:
            labels = ",".join(f"{v:.1f}" for v in rng.integers(0, 10, 6) / 10)
            rows.append(f"{i},{labels}" if split != "test" else str(i))
            write_clip(root / "raw" / f"{i:05d}.mp4")
            for sub, dim, steps in (("vit", 384, 3), ("wav2vec2", 768, 30)):
                with open(root / sub / f"{i:05d}.pkl", "wb") as f:
                    pickle.dump(rng.normal(size=(steps, dim)).astype(np.float32), f)
        (root / f"{split}_split.csv").write_text("\n".join(rows) + "\n")
    return root


if __name__ == "__main__":
    print(make_root(Path(sys.argv[1])))

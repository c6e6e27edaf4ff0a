"""Does a streaming job's memory grow with its clips? The features job's read path, repeated.

    python benchmarks/stream_rss.py STORE.h5 [STORE.h5 ...] --passes 6

Reads every clip of the given frames stores through what ``emibench features`` reads them with
(``MediaReader.frames_of``, ``group_by_rows`` and the ``prefetch`` reader thread, at the
rehearsal's batch of 16: groups of 64 frames, 4 groups ahead), turns each clip's frames into
float32 and writes 32 float16 values a frame to a scratch SequenceWriter, ``--passes`` times over,
and prints the process's resident set (VmRSS) and its peak (VmHWM) after each pass. The encoder
is left out (its batches are of a fixed size). Flat figures over the passes mean the job keeps
nothing per clip; growth per pass would be memory kept per clip. docs/scale.md ("Capacity plan")
has a run on the 160-clip ladder's frames stores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stores", nargs="+", type=Path, help="frames stores (.h5)")
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--group-rows", type=int, default=64, help="4 x the features batch")
    parser.add_argument("--prefetch", type=int, default=4)
    args = parser.parse_args(list(argv) if argv is not None else None)

    from emibench.data.store import SequenceWriter
    from emibench.encoding.media import MediaReader, group_by_rows, prefetch

    media = MediaReader(frames=[str(p) for p in args.stores])
    ids = media.frames.ids()
    print(
        f"{len(ids)} clips in {len(args.stores)} store(s); RSS at start {status_mb('VmRSS'):.0f} MB"
    )
    start, clips = time.perf_counter(), 0
    with tempfile.TemporaryDirectory() as tmp, SequenceWriter(Path(tmp) / "out.h5") as writer:
        for n in range(args.passes):
            items = (media.frames_of(i) for i in ids)
            for group in prefetch(group_by_rows(items, args.group_rows), args.prefetch):
                for item in group:
                    if item.value is None:
                        continue
                    rows = item.value.astype(np.float32).reshape(len(item.value), -1)[:, :32]
                    writer.write(f"{n}_{item.id}", rows.astype(np.float16), rate_hz=5.0)
                    clips += 1
            print(
                f"pass {n + 1}: {clips} clips read, RSS {status_mb('VmRSS'):.0f} MB, "
                f"peak {status_mb('VmHWM'):.0f} MB, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    media.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

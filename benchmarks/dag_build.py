"""How long Snakemake takes to build the plan (DAG) of the demo and of the real config at the
real set's size, before the first job runs: every dry run, resume, cluster submission and
`dvc repro` pays it.

    python benchmarks/dag_build.py [--repo PATH] [--repeats 3]

It copies the workflow of ``--repo`` (default: this checkout) into a fresh folder, writes a
root in the real layout with the real split sizes (8,072 / 4,588 / 4,586 clip ids, split CSVs,
empty media files), and times ``snakemake -n --quiet rules all`` for the demo and for
config/vidmimic2.yaml on that root, ``--repeats`` times each. It prints wall and CPU seconds
(user + system of the Snakemake process: the DAG is built on one core, so on an idle machine they
agree; on a busy one CPU seconds are the steadier figure) and the number of jobs. To compare two
checkouts, run it on each in one session (``--repo`` the other one; its ``src`` goes first on
PYTHONPATH).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy\n"
REAL_SPLITS = {"train": 8072, "valid": 4588, "test": 4586}
WORKFLOW = ("Snakefile", "workflow", "config", "envs", "profiles")


def write_sized_root(root: Path, counts: dict[str, int]) -> int:
    """Split CSVs (test without labels) and an empty raw/{id:05d}.mp4 per clip; consecutive ids."""
    (root / "raw").mkdir(parents=True, exist_ok=True)
    clip = 0
    for split, n in counts.items():
        lines = [HEADER if split != "test" else "Filename\n"]
        for _ in range(n):
            lines.append(f"{clip}" + (",0.1,0.2,0.0,0.0,0.3,0.5\n" if split != "test" else "\n"))
            (root / "raw" / f"{clip:05d}.mp4").touch()
            clip += 1
        (root / f"{split}_split.csv").write_text("".join(lines))
    return clip


def time_dry_run(work: Path, src: Path, configfiles: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, jobs) of one `snakemake -n --quiet rules all` in ``work``."""
    cmd = ["snakemake", "-n", "--quiet", "rules", "all"]
    if configfiles:
        cmd += ["--configfile", *configfiles]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {work}:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = re.search(r"^total\s+(\d+)", done.stdout + done.stderr, re.MULTILINE)
    return wall, cpu, int(total.group(1)) if total else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory(prefix="dag-build-") as tmp:
        tmp = Path(tmp)
        work = tmp / "work"
        work.mkdir()
        for name in WORKFLOW:
            source = repo / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
        clips = write_sized_root(tmp / "root", REAL_SPLITS)
        (tmp / "root.yaml").write_text(f"dataset:\n  root: {tmp / 'root'}\n")
        cases = {
            "demo (config/config.yaml)": [],
            f"real (config/vidmimic2.yaml), {clips:,} clips": [
                "config/vidmimic2.yaml",
                str(tmp / "root.yaml"),
            ],
        }
        print(f"# snakemake -n --quiet rules all, workflow of {repo}; {args.repeats} runs each")
        print("| config | jobs | wall s (min / median) | CPU s (min / median) |")
        print("|---|---:|---:|---:|")
        for label, files in cases.items():
            runs = [time_dry_run(work, repo / "src", files) for _ in range(args.repeats)]
            walls = sorted(r[0] for r in runs)
            cpus = sorted(r[1] for r in runs)
            mid = len(runs) // 2
            print(
                f"| {label} | {runs[0][2]} | {walls[0]:.1f} / {walls[mid]:.1f} "
                f"| {cpus[0]:.1f} / {cpus[mid]:.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

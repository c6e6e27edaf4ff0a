"""The shell commands of the real workflow, from a Snakemake dry run, parsed by emibench's CLI."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from emibench.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def dry_run(*configfiles: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``snakemake all`` (forced, dry, printing shell commands) with the given config files."""
    cmd = ["snakemake", "-n", "-p", "--forceall", "all", "--cores", "1"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    return subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, text=True, timeout=600)


def dry_run_commands(*configfiles: str | Path, cwd: Path = REPO) -> list[str]:
    """Every job's shell command of ``snakemake all`` (forced, dry) with the given config files."""
    done = dry_run(*configfiles, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    prefix = "Shell command: "
    return [line[len(prefix) :] for line in done.stdout.splitlines() if line.startswith(prefix)]


def parse_command(command: str):
    """``emibench <step> ... > log 2>&1`` -> the parsed arguments, as the step would see them."""
    words = shlex.split(command)
    assert words[0] == "emibench", command[:80]
    words = words[1 : words.index(">")] if ">" in words else words[1:]
    return build_parser().parse_args(words)


def steps(commands: list[str], step: str) -> list:
    """The parsed arguments of every command of one ``emibench`` step."""
    return [parse_command(c) for c in commands if c.startswith(f"emibench {step} ")]

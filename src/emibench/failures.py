"""Notes on failed jobs that Snakemake reports only by exit status.

A job the kernel's out-of-memory killer ends dies by SIGKILL, before Python can log anything;
Snakemake then says only "non-zero exit status 137". The workflow's ``onerror`` handler passes
Snakemake's log here: each job that died that way gets a note, printed and appended to the job's
own log, naming the likely cause and the settings that lower its memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KILLED = re.compile(
    r"exit (?:status|code) (?:137|-9)\b|signal 9\b|\bSIGKILL\b|OOM|[Oo]ut of memory"
)
ERROR = re.compile(r"^Error in rule (\S+):\s*$")
LOG = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?\s*$")

ADVICE = (
    "it was killed by signal 9 (exit status 137), which is most often the kernel's out-of-memory "
    "killer: the job needed more memory than the machine or its cluster allocation gives. Ask for "
    "more (resources.steps.<step>.mem_mb in the config), or lower what the job needs: a smaller "
    "train.batch_size, gradient_checkpointing: true and precision: bf16 for models that fine-tune "
    "encoders (docs/scale.md gives the memory of each job at the real set's size)."
)


@dataclass(frozen=True)
class Killed:
    rule: str
    log: str | None

    def note(self) -> str:
        where = f" (log: {self.log})" if self.log else ""
        return f"emibench: job of rule {self.rule}{where}: {ADVICE}"


def killed_jobs(snakemake_log: str) -> list[Killed]:
    """Each failed job of a Snakemake log whose error block says it was killed."""
    found: list[Killed] = []
    rule: str | None = None
    log_path: str | None = None
    killed = False
    for line in [*snakemake_log.splitlines(), "Error in rule <end>:"]:
        start = ERROR.match(line)
        if start:
            if rule is not None and killed:
                found.append(Killed(rule, log_path))
            rule, log_path, killed = start.group(1), None, False
            continue
        if rule is None:
            continue
        match = LOG.match(line)
        if match and log_path is None:
            log_path = match.group(1).split(",")[0].strip()
        if KILLED.search(line):
            killed = True
    return found


def explain(snakemake_logs: str | Path | Sequence[str | Path] | None) -> list[str]:
    """Notes for the killed jobs of Snakemake's log file(s) (``log`` in ``onerror``: one path,
    or a list of them in recent releases), each also appended to the job's own log."""
    if snakemake_logs is None:
        return []
    if isinstance(snakemake_logs, (str, Path)):
        snakemake_logs = [snakemake_logs]
    text = "\n".join(
        Path(p).read_text(errors="replace") for p in snakemake_logs if Path(p).is_file()
    )
    notes = []
    for job in killed_jobs(text):
        note = job.note()
        notes.append(note)
        if job.log and Path(job.log).is_file():
            with open(job.log, "a") as f:
                f.write(f"\n{note}\n")
    return notes

"""A job killed by SIGKILL (the out-of-memory killer's signal) gets a note where users look:
the workflow's error output and the job's own log."""

import subprocess
import sys
import textwrap

from emibench.failures import killed_jobs


def test_a_killed_job_is_explained_in_the_output_and_in_its_log(tmp_path):
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            f"""
            import sys
            from emibench.failures import explain

            rule all:
                input: "killed.txt", "fine.txt"

            rule greedy:
                output: "killed.txt"
                log: "logs/greedy.log"
                shell: "echo loading > {{log}}; {sys.executable} -c 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)' >> {{log}} 2>&1; touch {{output}}"

            rule failing:
                output: "fine.txt"
                log: "logs/failing.log"
                shell: "echo plain failure > {{log}}; exit 3"

            onerror:
                for note in explain(log):
                    print(note, file=sys.stderr)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--keep-going"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    notes = [line for line in done.stderr.splitlines() if line.startswith("emibench: job of rule")]
    assert len(notes) == 1, done.stderr
    assert "rule greedy" in notes[0] and "exit status 137" in notes[0] and "mem_mb" in notes[0]
    log = (tmp_path / "logs/greedy.log").read_text()
    assert log.startswith("loading") and "out-of-memory killer" in log
    assert "out-of-memory" not in (tmp_path / "logs/failing.log").read_text()


def test_only_blocks_that_say_killed_count():
    text = textwrap.dedent(
        """
        Error in rule train:
            jobid: 3
            log: results/logs/train/a.log (check log file(s) for error details)
            shell:
                emibench train ...
                (one of the commands exited with non-zero exit code)
        RuleException:
        CalledProcessError in file Snakefile, line 4:
        Command 'set -euo pipefail;  emibench train' returned non-zero exit status 137.
        Error in rule stack:
            jobid: 4
        Command 'set -euo pipefail;  emibench stack' returned non-zero exit status 1.
        """
    )
    jobs = killed_jobs(text)
    assert [(j.rule, j.log) for j in jobs] == [("train", "results/logs/train/a.log")]

#!/usr/bin/env bash
# Refresh envs/requirements.lock, the pinned, hashed environment that the README's commands,
# .ci/run and envs/emibench.yaml install: every dependency of pyproject.toml with all its extras,
# under envs/constraints.txt, resolved for Linux x86-64 and Python 3.11 from PyPI.
#
#   bash envs/lock.sh                          # keep every pin that still fits pyproject.toml
#   bash envs/lock.sh --upgrade                # newest releases of everything
#   bash envs/lock.sh --upgrade-package numpy  # newest numpy, the rest kept
#
# It runs uv (pinned below), installed into a venv of its own under ${TMPDIR:-/tmp} on first use;
# UV=/path/to/uv uses that one instead. Then `emibench lock-check`, where emibench is installed
# (.ci/run runs it too). Reinstall afterwards: pip install -r envs/requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if [ -z "${UV:-}" ]; then
  tool="${TMPDIR:-/tmp}/emibench-uv-$UV_VERSION"
  if [ ! -x "$tool/bin/uv" ]; then
    python3 -m venv "$tool"
    "$tool/bin/pip" install -q "uv==$UV_VERSION"
  fi
  UV="$tool/bin/uv"
fi
"$UV" pip compile pyproject.toml --all-extras --constraint envs/constraints.txt \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
  --no-config --custom-compile-command "bash envs/lock.sh" \
  --output-file envs/requirements.lock "$@"
if command -v emibench >/dev/null 2>&1; then
  emibench lock-check
fi

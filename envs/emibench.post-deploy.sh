#!/bin/sh
# Run by Snakemake in the environment of envs/emibench.yaml once it is built: emibench itself,
# editable from the checkout, its dependencies already there from envs/requirements.lock.
set -eu
pip install --no-deps -e "${EMIBENCH_SOURCE:?the workflow sets EMIBENCH_SOURCE to its checkout}"

#!/usr/bin/env bash
# The paper-size rehearsal: config/vidmimic2.yaml end to end, offline, on the CPU (or a GPU with
# DEVICE=cuda). Random-initialised models of the paper's exact architectures are written under
# their hub names into a Hugging Face cache (emibench make-rehearsal-models), a fake root in the
# real Hume-Vidmimic2 layout with its corners is written (emibench make-fake-root), and the whole
# real DAG runs on them with tests/rehearsal/rehearsal.yaml; tests/rehearsal/check.py then checks
# the outputs. Usage: bash tests/rehearsal/run.sh [WORKDIR]   (run from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d -t emibench-rehearsal-XXXX)}
mkdir -p "$work"
export HF_HOME="$work/hf" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg PYTHONUNBUFFERED=1
start=$SECONDS

# every model but Whisper large-v3, which rehearsal.yaml swaps for large-v3-turbo
emibench make-rehearsal-models "$HF_HOME" --only clip,wav2vec2,bert,whisper,wav2vec2_emotion,distilbert,vit
# 34 train clips (more than TAEMI's batch of 32), 30 of them without a soundtrack, as are 3 of the
# 4 valid clips (2 and the corner without an audio track) and 1 of the 2 test clips (rehearsal.yaml)
[ -f "$work/root/train_split.csv" ] || emibench make-fake-root "$work/root" \
  --settings '{"clips": {"train": 34, "valid": 4, "test": 2}, "no_audio": {"train": 30, "valid": 2, "test": 1}}'
cat > "$work/root.yaml" <<YAML
dataset:
  root: $work/root
resources:
  device: ${DEVICE:-cpu}
  gpu: $([ "${DEVICE:-cpu}" = cuda ] && echo 1 || echo 0)
YAML
echo "== models and root ready after $((SECONDS - start)) s"

snakemake --cores "${CORES:-2}" all --configfile config/vidmimic2.yaml \
  tests/rehearsal/rehearsal.yaml "$work/root.yaml" --rerun-incomplete
echo "== DAG done after $((SECONDS - start)) s"
python tests/rehearsal/check.py results/rehearsal "$work/root"
echo "== rehearsal passed in $((SECONDS - start)) s"

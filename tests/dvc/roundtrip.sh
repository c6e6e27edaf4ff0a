#!/usr/bin/env bash
# DVC as a user would drive it, on the tiny e2e set, in a temporary git repository made of this
# working tree (nothing here is touched):
#   1. `dvc repro` runs the Snakemake DAG end to end (params.yaml pointed at tests/e2e.yaml), and
#      `dvc metrics show` prints the metrics;
#   2. `dvc push` to a temporary local remote, then `dvc pull` in a fresh `git clone` restores the
#      results, after which `dvc status` is clean and `dvc repro` reruns nothing;
#   3. data.dvc as the README says for the real root: a fake Hume-Vidmimic2 root in data/vidmimic2,
#      `dvc add data/vidmimic2` (which fills data.dvc), push, and the clone's pull gives the same files;
#   4. a config change (TAEMI's hidden size) and `dvc repro` again: `dvc metrics diff` shows it.
# Usage: bash tests/dvc/roundtrip.sh [SAVE_RESULTS]   (KEEP=1 keeps the temporary folder)
#   SAVE_RESULTS: where to copy the first run's results/e2e (tests/cluster/slurm.sh compares with it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
start=$SECONDS
save=${1:+$(realpath -m "$1")}
work=$(mktemp -d /tmp/emibench-dvc.XXXXXX)
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAILED (exit $rc); kept $work" >&2
  elif [ "${KEEP:-0}" = 1 ]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

project=$work/project
mkdir -p "$project"
git -C "$repo" ls-files -z -co --exclude-standard |
  tar -C "$repo" --null -T - -cf - | tar -C "$project" -xf -
cd "$project"
git init -q -b main
git config user.email ci@emibench.invalid
git config user.name "emibench CI"
cat >params.yaml <<'EOF'
snakemake:
  configfiles: config/config.yaml tests/e2e.yaml
  dataset: e2e
EOF
dvc remote add -q -d -f roundtrip "$work/remote"
git add -A
git commit -qm "project at the tiny config"

echo "== dvc repro (the tiny DAG end to end)"
t0=$SECONDS
dvc repro >"$work/repro.log" 2>&1 || { tail -n 40 "$work/repro.log"; exit 1; }
echo "dvc repro: $((SECONDS - t0)) s"
if [ -n "$save" ]; then
  mkdir -p "$(dirname "$save")"
  cp -r results/e2e "$save"
fi
echo "== dvc metrics show"
dvc metrics show --json | python3 -c '
import json, sys

def leaves(tree, prefix):
    if not isinstance(tree, dict):
        yield prefix, tree
        return
    for key, value in tree.items():
        yield from leaves(value, f"{prefix}.{key}" if prefix else key)

for path, entry in json.load(sys.stdin)[""]["data"].items():
    for key, value in leaves(entry["data"], ""):
        print(f"{path}  {key}  {value}")'
git add dvc.lock
git commit -qm "results of the tiny config"

echo "== data.dvc: dvc add data/vidmimic2 (a fake Hume-Vidmimic2 root)"
python3 tests/fake_vidmimic2.py data/vidmimic2 >/dev/null
dvc add -q data/vidmimic2
git add -A
git commit -qm "track data/vidmimic2"

echo "== dvc push, then dvc pull in a fresh clone"
dvc push
git clone -q "$project" "$work/clone"
cd "$work/clone"
dvc pull
for path in results/e2e/metrics.json results/e2e/results.tsv results/e2e/report/report.html; do
  cmp "$path" "$project/$path"
done
diff -r data/vidmimic2 "$project/data/vidmimic2"
status=$(dvc status)
echo "$status"
[ "$status" = "Data and pipelines are up to date." ]
repro=$(dvc repro 2>&1)
echo "$repro"
grep -q "didn't change, skipping" <<<"$repro"
if [ -e results/e2e/runs ] || [ -e results/e2e/manifest.tsv ]; then
  echo "the clone ran the pipeline instead of restoring it" >&2
  exit 1
fi
echo "clone restored $(find results data -type f | wc -l) files without rerunning the DAG"

echo "== a config change, dvc repro, dvc metrics diff"
cd "$project"
python3 - <<'EOF'
import re
from pathlib import Path

path = Path("config/config.yaml")
text, changed = re.subn(r"(model: \{name: taemi, hidden: )32\b", r"\g<1>48", path.read_text())
assert changed == 1, "TAEMI's hidden size is not where this test expects it"
path.write_text(text)
EOF
t0=$SECONDS
dvc repro >"$work/repro2.log" 2>&1 || { tail -n 40 "$work/repro2.log"; exit 1; }
echo "dvc repro after the change: $((SECONDS - t0)) s"
diff=$(dvc metrics diff)
echo "$diff"
grep -q "taemi" <<<"$diff"
echo "== DVC round trip passed in $((SECONDS - start)) s"

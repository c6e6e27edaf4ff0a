"""Compare two runs' metrics: ``python compare_results.py LOCAL_RESULTS CLUSTER_RESULTS``.

Each argument is a ``results/<dataset>`` folder. Prints every entry of ``metrics.json`` side by
side and every score of ``results.tsv`` that differs (emibench.report.reference, tolerance 0);
exits 1 unless both are identical (training is deterministic on the CPU with the same seeds and
threads).
"""

import argparse
import json
import sys
from pathlib import Path

from emibench.report.reference import describe_moved, moved_scores, read_scores


def flatten(tree, prefix=""):
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def compare(local: Path, cluster: Path) -> bool:
    ours = flatten(json.loads((local / "metrics.json").read_text()))
    theirs = flatten(json.loads((cluster / "metrics.json").read_text()))
    width = max(map(len, ours | theirs))
    print(f"{'metrics.json':<{width}}  {'local':>10}  {'cluster':>10}")
    same = ours.keys() == theirs.keys()
    for key in sorted(ours | theirs):
        a, b = ours.get(key), theirs.get(key)
        mark = "" if a == b else "  DIFFERENT"
        same &= a == b
        print(f"{key:<{width}}  {a!s:>10}  {b!s:>10}{mark}")

    ours, theirs = (read_scores(d / "results.tsv") for d in (local, cluster))
    moved = moved_scores(ours, theirs, tolerance=0.0)
    if len(moved):
        print("results.tsv, old = local, new = cluster: " + describe_moved(moved, len(ours), 0.0))
    else:
        print(f"results.tsv: all {len(ours)} scores identical")
    return same and moved.empty


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("local", type=Path)
    parser.add_argument("cluster", type=Path)
    args = parser.parse_args(argv)
    if not compare(args.local, args.cluster):
        print("local and cluster metrics differ", file=sys.stderr)
        return 1
    print("local and cluster metrics are identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())

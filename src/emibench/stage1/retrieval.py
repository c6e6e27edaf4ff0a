"""Retrieval recall@k of media -> text on a split, with identical transcripts counted as one text.

Transcripts can repeat (short utterances, a phrase bank): a retrieved text identical to the
query's own (after case and whitespace folding) counts as a hit, and the chance level is computed
for the same rule: for a query whose text has ``g`` copies among ``N``, a random ranking hits
within the top ``k`` with probability ``1 - C(N - g, k) / C(N, k)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def text_groups(texts: Sequence[str]) -> np.ndarray:
    """(N,) group index per text; equal after lower-casing and collapsing whitespace."""
    keys: dict[str, int] = {}
    return np.array(
        [keys.setdefault(" ".join(t.lower().split()), len(keys)) for t in texts], dtype=np.int64
    )


def recall_at_k(similarity: torch.Tensor, groups: np.ndarray, k: int) -> float:
    """Share of queries (rows) whose top-``k`` columns hold a text of the query's own group."""
    n = similarity.shape[0]
    if n == 0:
        return float("nan")
    top = similarity.topk(min(k, n), dim=1).indices.cpu().numpy()
    g = np.asarray(groups)
    return float((g[top] == g[:, None]).any(axis=1).mean())


def chance_recall_at_k(groups: np.ndarray, k: int) -> float:
    """Expected recall@k of a random ranking under the same hit rule."""
    g = np.asarray(groups)
    n = len(g)
    if n == 0:
        return float("nan")
    k = min(k, n)
    sizes = np.bincount(g)[g]
    # 1 - C(n - s, k) / C(n, k) = 1 - prod_{j<k} (n - s - j) / (n - j)
    j = np.arange(k)[None, :]
    ratio = np.clip((n - sizes[:, None] - j) / (n - j), 0.0, None).prod(axis=1)
    return float((1.0 - ratio).mean())

"""Ranking metrics over graded judgments (pure functions; ``ranked`` is best first)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with gain 2^grade - 1 and log2 discount; 0 when nothing is relevant."""
    ideal = dcg(sorted((2**g - 1 for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([2 ** grades.get(doc, 0) - 1 for doc in ranked[:k]]) / ideal


def mrr_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10, min_grade: int = 2) -> float:
    """Reciprocal rank of the first document graded at least ``min_grade`` within k."""
    for rank, doc in enumerate(ranked[:k]):
        if grades.get(doc, 0) >= min_grade:
            return 1.0 / (rank + 1)
    return 0.0


def recall_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 100, min_grade: int = 1) -> float:
    relevant = {doc for doc, g in grades.items() if g >= min_grade}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def precision_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10, min_grade: int = 1) -> float:
    return sum(grades.get(doc, 0) >= min_grade for doc in ranked[:k]) / k

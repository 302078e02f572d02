"""Combining legs into one ranking: weighted arithmetic, geometric and harmonic means of normalised
scores, and weighted reciprocal rank fusion.

The means follow OpenSearch's normalization-processor (neural-search ``*MeanScoreCombinationTechnique``):
a leg that did not find a document counts as a score of 0 (``missing="zero"``), which demotes
documents only one leg found, or is left out of that document's mean (``missing="skip"``).
OpenSearch 2.19 applies "zero" in its arithmetic mean and "skip" in its geometric and harmonic
means (``MISSING_IN_OPENSEARCH``). RRF
follows Cormack et al. (2009), score = sum_i w_i / (k + rank_i), ranks from 1, as in OpenSearch's
score-ranker-processor and haystack's ``_reciprocal_rank_fusion``; a leg that missed the document
adds nothing. Convex combination vs RRF is the comparison txtai's hybrid search draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hybrid_search.ranking.normalise import NORMALISERS, Normalisation


class Combination(StrEnum):
    ARITHMETIC = "arithmetic"
    GEOMETRIC = "geometric"
    HARMONIC = "harmonic"
    RRF = "rrf"


class Missing(StrEnum):
    ZERO = "zero"
    SKIP = "skip"


MISSING_IN_OPENSEARCH = {
    Combination.ARITHMETIC: Missing.ZERO,
    Combination.GEOMETRIC: Missing.SKIP,
    Combination.HARMONIC: Missing.SKIP,
}
"""What neural-search 2.19's means do with a sub-query that missed a document: its score array
starts at 0.0, the arithmetic mean adds 0 x weight, the geometric and harmonic means skip scores <= 0."""


@dataclass(frozen=True)
class LegScore:
    raw: float
    rank: int | None  # 1-based position within its leg (None where the engine does not say)
    normalised: float


@dataclass(frozen=True)
class Combined:
    doc_id: str
    score: float
    legs: dict[str, LegScore] = field(default_factory=dict)


def weighted_arithmetic(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights[leg] for leg in scores)
    return sum(weights[leg] * s for leg, s in scores.items()) / total if total else 0.0


def _weighted_positive(
    scores: Mapping[str, float], weights: Mapping[str, float]
) -> tuple[float, list[tuple[float, float]]]:
    """Total weight and the (weight, score) pairs with weight > 0; empty pairs when the mean must be 0
    (no weight at all, or a weighted leg that scored 0, which geometric and harmonic means cannot absorb)."""
    total = sum(weights[leg] for leg in scores)
    pairs = [(weights[leg], s) for leg, s in scores.items() if weights[leg] > 0]
    if not total or any(s <= 0 for _, s in pairs):
        return total, []
    return total, pairs


def weighted_geometric(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """exp(sum w ln s / sum w) over positive scores; 0 if a weighted leg scored 0."""
    total, pairs = _weighted_positive(scores, weights)
    return math.exp(sum(w * math.log(s) for w, s in pairs) / total) if pairs else 0.0


def weighted_harmonic(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """sum w / sum (w / s); 0 if a weighted leg scored 0."""
    total, pairs = _weighted_positive(scores, weights)
    return total / sum(w / s for w, s in pairs) if pairs else 0.0


MEANS = {"arithmetic": weighted_arithmetic, "geometric": weighted_geometric, "harmonic": weighted_harmonic}


def rrf(ranks: Mapping[str, int], weights: Mapping[str, float], rank_constant: float) -> float:
    return sum(weights[leg] / (rank_constant + rank) for leg, rank in ranks.items())


def combine(
    legs: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float],
    normalisation: str = Normalisation.MIN_MAX,
    combination: str = Combination.ARITHMETIC,
    rank_constant: float = 60.0,
    missing: str = Missing.SKIP,
) -> list[Combined]:
    """Fuse legs (each a best-first list of (doc id, raw score)) into one best-first list.

    Ties are broken by doc id so that the order, and therefore paging, is stable.
    """
    normalisation, combination, missing = Normalisation(normalisation), Combination(combination), Missing(missing)
    if normalisation is Normalisation.Z_SCORE and combination in (Combination.GEOMETRIC, Combination.HARMONIC):
        raise ValueError("z_score produces negative scores; combine it with arithmetic or rrf")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    unknown = set(legs) - set(weights)
    if unknown:
        raise ValueError(f"no weight for legs {sorted(unknown)}")

    per_doc: dict[str, dict[str, LegScore]] = {}
    for leg, hits in legs.items():
        normalised = NORMALISERS[normalisation]([score for _, score in hits])
        for rank, ((doc_id, raw), norm) in enumerate(zip(hits, normalised, strict=True), start=1):
            per_doc.setdefault(doc_id, {}).setdefault(leg, LegScore(raw, rank, norm))

    combined = []
    all_legs_weight = sum(weights[leg] for leg in legs)
    for doc_id, found in per_doc.items():
        if combination is Combination.RRF:
            score = rrf({leg: s.rank for leg, s in found.items()}, weights, rank_constant)
        elif combination is Combination.ARITHMETIC:  # the common case, inlined: a missed leg adds 0 to the sum
            total = all_legs_weight if missing is Missing.ZERO else sum(weights[leg] for leg in found)
            score = sum(weights[leg] * s.normalised for leg, s in found.items()) / total if total else 0.0
        else:
            scores = {leg: s.normalised for leg, s in found.items()}
            if missing is Missing.ZERO:
                scores = {leg: scores.get(leg, 0.0) for leg in legs}
            score = MEANS[combination](scores, weights)
        combined.append(Combined(doc_id, score, found))
    combined.sort(key=lambda c: (-c.score, c.doc_id))
    return combined

"""Per-leg score normalisation, the same menu as OpenSearch's normalization-processor.

Each function maps one leg's raw scores (any order) to comparable scores, position for position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum


class Normalisation(StrEnum):
    MIN_MAX = "min_max"
    L2 = "l2"
    Z_SCORE = "z_score"


MIN_SCORE = 0.001
"""min_max maps a leg's lowest score here, not to 0, so the document still counts as found
(as OpenSearch's MinMaxScoreNormalizationTechnique does)."""


def min_max(scores: Sequence[float]) -> list[float]:
    """(s - min) / (max - min), the lowest mapped to MIN_SCORE; every score 1.0 when they are all
    equal (one hit, ties). Exactly OpenSearch's MinMaxScoreNormalizationTechnique."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) or MIN_SCORE for s in scores]


def l2(scores: Sequence[float]) -> list[float]:
    """s / sqrt(sum of s^2); all zeros stay zeros."""
    norm = math.sqrt(sum(s * s for s in scores))
    return [s / norm if norm else 0.0 for s in scores]


def z_score(scores: Sequence[float]) -> list[float]:
    """(s - mean) / population std; all 0.0 when the scores do not vary."""
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return [(s - mean) / std if std else 0.0 for s in scores]


NORMALISERS: dict[Normalisation, Callable[[Sequence[float]], list[float]]] = {
    Normalisation.MIN_MAX: min_max,
    Normalisation.L2: l2,
    Normalisation.Z_SCORE: z_score,
}

"""Per-hit explanation of every number behind its score; ``final`` is the score returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybrid_search.ranking.rerank import Reranked


def explain_hit(
    hit: Reranked,
    legs_run: Mapping[str, float],
    normalisation: str,
    combination: str,
    rank_constant: float,
    missing: str,
    rerank_weight: float,
) -> dict[str, Any]:
    """Each leg's raw score, rank, normalised score and weight (``found: false`` for legs that missed
    the document), the combination, the combined score, the user boost and the final score."""
    legs = {}
    for leg, weight in legs_run.items():
        found = hit.hit.legs.get(leg)
        legs[leg] = (
            {"found": True, "raw": found.raw, "rank": found.rank, "normalised": found.normalised, "weight": weight}
            if found
            else {"found": False, "weight": weight}
        )
    combination_info: dict[str, Any] = {"method": combination}
    if combination == "rrf":
        combination_info["rank_constant"] = rank_constant
    else:
        combination_info.update(normalisation=normalisation, missing=missing)
    return {
        "legs": legs,
        "combination": combination_info,
        "combined": hit.hit.score,
        "user_boost": hit.boost,
        "rerank_weight": rerank_weight,
        "final": hit.score,
    }

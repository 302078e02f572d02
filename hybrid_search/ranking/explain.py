"""Per-hit explanation of every number behind its score; ``final`` is the score returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hybrid_search.ranking.rerank import AFFINITY_FIELDS, Reranked, UserProfile


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
    the document), the combination, the combined score, the user boost (scaled by ``boost_scale`` in
    a relative rerank) and the final score."""
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
        "boost_scale": hit.scale,
        "final": hit.score,
    }


def user_reasons(
    profile: UserProfile,
    product: Mapping[str, Any],
    vector: np.ndarray | None,
    history: Sequence[tuple[str, str, np.ndarray]],
    top: int = 3,
) -> dict[str, Any]:
    """Why a product fits a user: its attribute values the user favours (their share of the user's
    weighted actions), and the products from the user's history (id, title, vector) nearest to it."""
    attributes = [
        {"field": field, "value": str(product.get(field)).lower(), "share": round(share, 4)}
        for field in AFFINITY_FIELDS
        if product.get(field) and (share := profile.affinities.get(field, {}).get(str(product[field]).lower(), 0.0)) > 0
    ]
    attributes.sort(key=lambda a: -a["share"])
    nearest = []
    if vector is not None and history:
        cosines = np.stack([h[2] for h in history]) @ np.asarray(vector, dtype=np.float32)
        nearest = [
            {"id": history[i][0], "title": history[i][1], "cosine": round(float(cosines[i]), 4)}
            for i in np.argsort(-cosines)[:top]
        ]
    return {"attributes": attributes[:top], "nearest_history": nearest}

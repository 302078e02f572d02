"""Per-user rerank: a user profile from behaviour, turned into a boost added to the blended score.

final = combined + rerank_weight * boost, where
boost = vector_share * cos(user vector, product fused vector)
        + (1 - vector_share) * mean affinity of the product's attribute values.
No user, or a user without history, has boost 0: the order does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hybrid_search.encoders.behaviour import ACTION_WEIGHTS
from hybrid_search.ranking.combine import Combined

AFFINITY_FIELDS = ("article_type", "colour", "brand", "gender")


@dataclass(frozen=True)
class UserProfile:
    vector: np.ndarray | None = None  # unit vector in the fused space, or None
    affinities: dict[str, dict[str, float]] = field(default_factory=dict)  # field -> value -> share in [0, 1]

    @property
    def empty(self) -> bool:
        return self.vector is None and not any(self.affinities.values())


def updated_vector(current: np.ndarray | None, item: np.ndarray, weight: float, decay: float = 0.8) -> np.ndarray:
    """Exponential moving average of interacted products' vectors: recent, heavier actions count more."""
    item = np.asarray(item, dtype=np.float32)
    mixed = item * weight if current is None else decay * np.asarray(current, dtype=np.float32) + weight * item
    norm = np.linalg.norm(mixed)
    return mixed / norm if norm else mixed


def affinity_shares(counts: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per field, each value's share of the user's weighted interactions."""
    shares = {}
    for name, values in counts.items():
        total = sum(v for v in values.values() if v > 0)
        if total:
            shares[name] = {value: v / total for value, v in values.items() if v > 0}
    return shares


def profile_from_history(history: Sequence[tuple[str, Mapping[str, object]]], decay: float = 0.8) -> UserProfile:
    """The profile a user's actions (action, product with its fused vector and attributes), oldest
    first, build: what ``UserProfiles.record`` keeps in Redis, computed in one go (for tuning)."""
    vector: np.ndarray | None = None
    counts: dict[str, dict[str, float]] = {}
    for action, product in history:
        weight = ACTION_WEIGHTS.get(action, 0.0)
        if weight <= 0:
            continue
        if product.get("fused_vector") is not None:
            vector = updated_vector(vector, np.asarray(product["fused_vector"]), weight, decay)
        for name in AFFINITY_FIELDS:
            if product.get(name):
                values = counts.setdefault(name, {})
                values[str(product[name]).lower()] = values.get(str(product[name]).lower(), 0.0) + weight
    return UserProfile(vector=vector, affinities=affinity_shares(counts))


def user_boost(
    profile: UserProfile, similarity: float | None, doc: Mapping[str, object], vector_share: float = 0.7
) -> float:
    """How well a product fits the user, in [-1, 1]; 0 for an empty profile. ``similarity`` is the
    cosine of the user's vector with the product's fused vector (None when the product has none)."""
    if profile.empty:
        return 0.0
    similarity = similarity if profile.vector is not None and similarity is not None else 0.0
    fields = [f for f in AFFINITY_FIELDS if profile.affinities.get(f)]
    affinity = (
        sum(profile.affinities[f].get(str(doc.get(f, "")).lower(), 0.0) for f in fields) / len(fields)
        if fields
        else 0.0
    )
    if profile.vector is None:
        return affinity
    if not fields:
        return similarity
    return vector_share * similarity + (1 - vector_share) * affinity


@dataclass(frozen=True)
class Reranked:
    hit: Combined
    boost: float
    score: float


def rerank(hits: Sequence[Combined], boosts: Mapping[str, float], weight: float) -> list[Reranked]:
    """Add ``weight * boost`` to each blended score and re-sort (ties by doc id, for stable pages)."""
    out = [Reranked(h, boosts.get(h.doc_id, 0.0), h.score + weight * boosts.get(h.doc_id, 0.0)) for h in hits]
    out.sort(key=lambda r: (-r.score, r.hit.doc_id))
    return out

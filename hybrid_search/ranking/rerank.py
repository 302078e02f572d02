"""Per-user rerank: a user profile from behaviour, turned into a boost added to the blended score.

final = combined + rerank_weight * boost, where
boost = vector_share * cos(user vector, product fused vector)
        + (1 - vector_share) * mean affinity of the product's attribute values.
No user, or a user without history, has boost 0: the order does not change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hybrid_search.models.encoders.behaviour import ACTION_WEIGHTS
from hybrid_search.ranking.combine import Combined

AFFINITY_FIELDS = ("article_type", "colour", "brand", "gender", "usage")
ASKED = 0.5  # the query-understanding heads' probability at which a query decides a field itself


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


def profile_from_history(history: Sequence[tuple[str, Mapping[str, object]]], decay: float = 0.5) -> UserProfile:
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


def asked_fields(intent: Mapping[str, Mapping[str, float]] | None) -> frozenset[str]:
    """The attribute fields a query decides itself (its intent puts at least ``ASKED`` on one value):
    the user's taste is not asked about those, only about the ones the query leaves open."""
    if not intent:
        return frozenset()
    return frozenset(f for f in AFFINITY_FIELDS if max(intent.get(f, {}).values(), default=0.0) >= ASKED)


def user_boost(
    profile: UserProfile,
    similarity: float | None,
    doc: Mapping[str, object],
    vector_share: float = 0.7,
    asked: Collection[str] = (),
) -> float:
    """How well a product fits the user, in [-1, 1]; 0 for an empty profile. ``similarity`` is the
    cosine of the user's vector with the product's fused vector (None when the product has none);
    affinity counts only the fields not in ``asked`` (those the query decides)."""
    if profile.empty:
        return 0.0
    similarity = similarity if profile.vector is not None and similarity is not None else 0.0
    fields = [f for f in AFFINITY_FIELDS if profile.affinities.get(f) and f not in asked]
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
    scale: float = 1.0  # the boost's scale in a relative rerank: score = hit score + weight * scale * boost


def rerank(
    hits: Sequence[Combined], boosts: Mapping[str, float], weight: float, relative: bool = False
) -> list[Reranked]:
    """Add ``weight * boost`` to each blended score and re-sort (ties by doc id, for stable pages).
    ``relative``: the boost is scaled by the hit's place between the lowest and highest blended
    score of ``hits``, so a user's taste lifts what the query found relevant, not what it did not."""
    low, high = (min(h.score for h in hits), max(h.score for h in hits)) if hits else (0.0, 0.0)

    def scale(score: float) -> float:
        return (score - low) / (high - low) if relative and high > low else 1.0

    out = [
        Reranked(
            h, boosts.get(h.doc_id, 0.0), h.score + weight * scale(h.score) * boosts.get(h.doc_id, 0.0), scale(h.score)
        )
        for h in hits
    ]
    out.sort(key=lambda r: (-r.score, r.hit.doc_id))
    return out

"""The ranking pipeline every caller shares (pure): choose the profile → blend → rerank → page.

/search, the OpenSearch passthrough and the evaluation runner go through these functions, so an
evaluation scores what users are served. Only the blend has two engines: in process here over the
legs' hits, or inside OpenSearch (the ``hybrid`` query), which computes the same formulas.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from hybrid_search.ranking.combine import Combined, combine
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.ranking.rerank import Reranked, rerank


def usable_legs(profile: BlendProfile, available: Collection[str]) -> set[str]:
    """The legs ``profile`` weighs among those a query and the service can run."""
    return {leg for leg in available if profile.weight(leg) > 0}


def choose_profile(stored: BlendProfile, query_class: str, available: Collection[str]) -> BlendProfile:
    """The query class's override, else the whole profile, whichever weighs a leg that can run.

    Without attribute heads (no ``attributes`` among ``available``), a profile that leans on the
    attributes leg alone for this query falls back to the plain blend of the other legs (the
    profile defaults), as on a fresh install before ``train-attributes``.
    """
    override = stored.for_class(query_class)
    for candidate in (override, stored):
        if usable_legs(candidate, available):
            return candidate
    if "attributes" not in available and (override.weight("attributes") or stored.weight("attributes")):
        return BlendProfile()
    return override  # no leg can run: the caller says which input is missing


def blend(legs: Mapping[str, Sequence[tuple[str, float]]], profile: BlendProfile) -> list[Combined]:
    """The fused ranking of retrieved legs under ``profile`` (each leg cut to the profile's window)."""
    window = profile.window
    weighted = {leg: hits[:window] for leg, hits in legs.items() if profile.weight(leg) > 0}
    return combine(
        weighted,
        {leg: profile.weight(leg) for leg in weighted},
        profile.normalisation,
        profile.combination,
        profile.rank_constant,
        profile.missing,
    )[:window]


def rerank_head(
    blended: Sequence[Combined], boosts: Mapping[str, float], profile: BlendProfile, personalise: bool
) -> list[Reranked]:
    """The user's boosts rerank the profile's head (``rerank_depth`` hits); the rest keep their order."""
    depth = profile.rerank_depth
    weight = profile.rerank_weight if personalise else 0.0
    return rerank(blended[:depth], boosts, weight, profile.rerank_relative) + rerank(blended[depth:], {}, 0.0)


def page_of(ranked: Sequence[Reranked], page: int, size: int) -> Sequence[Reranked]:
    return ranked[(page - 1) * size : page * size]

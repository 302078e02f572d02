"""Running judged queries through the search service.

Retrieval (encoding, OpenSearch) is the slow part and does not depend on how legs are blended, so
each query's legs are retrieved once, at the widest window, and every profile is then scored by
blending those legs in memory through the ranking pipeline /search uses (the same profile choice
and fallbacks, the same formulas OpenSearch's hybrid query computes when /search runs it there;
only the order of exactly tied scores can differ between the engines).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hybrid_search.core.catalog import SearchRequest, product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.evaluation.judgments import Query, query_products
from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.querying.service import Retrieval, SearchService
from hybrid_search.ranking.learned import LearnedRanker
from hybrid_search.ranking.pipeline import blend, choose_profile
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.products import resolve_refs

Retrievals = dict[str, Retrieval]
T = TypeVar("T")

# Searches in flight while judged or synthetic queries are retrieved: one more than the cores, so
# OpenSearch works on some while Python reads another's legs (the ranker step's 2,569 queries on 2
# cores: 87 s one at a time, 48 s three at a time).
SEARCH_THREADS = min(8, (os.cpu_count() or 1) + 1)


def searched(items: Sequence[T], search: Callable[[T], Retrieval]) -> Iterator[Retrieval]:
    """``search`` of each of ``items``, in their order, ``SEARCH_THREADS`` at a time."""
    with ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="search") as pool:
        yield from pool.map(search, items)


def retrieve_all(
    service: SearchService,
    queries: Sequence[Query],
    base_dir: Path,
    profile: BlendProfile,
    progress: Callable[[Iterable[Retrieval]], Iterable[Retrieval]] = iter,
) -> Retrievals:
    """Each query's legs: its text, or its photo (read relative to ``base_dir``), minus the products
    it is made of (named as /search names them: an id, or "<merchant>/<id>")."""
    made_of = {query.id: query_products([query]) for query in queries}
    found = resolve_refs(service.client, service.settings.products_alias, set().union(*made_of.values()))
    if shared := sorted(ref for ref, key in found.items() if key is None):
        raise InvalidInputError("queries", f"several merchants have a product {shared[0]!r}: name it <merchant>/<id>")
    service.understanding.encode_ahead([query.text for query in queries if query.text])

    def retrieve(query: Query) -> Retrieval:
        photo = (base_dir / query.image).read_bytes() if query.image else None
        exclude = tuple(sorted(found[ref] or "" for ref in made_of[query.id] if ref in found))
        return service.retrieve(SearchRequest(q=query.text), photo, profile, exclude=exclude)

    return dict(zip([query.id for query in queries], progress(searched(queries, retrieve)), strict=True))


def rank(retrieval: Retrieval, profile: BlendProfile, ranker: LearnedRanker | None = None) -> list[str]:
    """Product ids best first, as /search would order them for this profile (and the learned ranker,
    where the index records one and the profile uses it): judgments name products by their merchant's
    own ids, so a judgment set is one merchant's catalog."""
    chosen = choose_profile(profile, retrieval.query_class, retrieval.legs.keys())
    if ranker is not None and chosen.ranker:
        ranked = ranker.rank(retrieval.legs, retrieval.signals).hits
    else:
        ranked = blend(retrieval.legs, chosen)
    return list(dict.fromkeys(product_id_of(c.doc_id) for c in ranked))


def rank_all(
    retrievals: Retrievals, profile: BlendProfile, ranker: LearnedRanker | None = None
) -> dict[str, list[str]]:
    return {qid: rank(r, profile, ranker) for qid, r in retrievals.items()}


def run_profiles(
    retrievals: Retrievals, profiles: Mapping[str, BlendProfile], ranker: LearnedRanker | None = None
) -> dict[str, dict[str, list[str]]]:
    """Rankings of every query under each named profile (with ``ranker`` where a profile uses it)."""
    return {name: rank_all(retrievals, profile, ranker) for name, profile in profiles.items()}


def single_leg_profiles(base: BlendProfile) -> dict[str, BlendProfile]:
    """Each leg alone (weight 1, the rest 0), with base's window: the baselines a blend must beat."""
    return {
        f"{leg} alone": base.model_copy(update={"weights": {leg: 1.0}, "classes": {}, "ranker": False})
        for leg in LEG_NAMES
    }

"""Training the learned ranker on queries retrieved through the search service exactly as /search
retrieves them (every leg, at the ranker's depth), graded by the catalog itself (``synthetic.py``),
by a judged list, or by clicks (a judgment list inferred from logged searches).

A judged query trains on the legs the feature log kept from its last search (what shoppers saw),
else on the legs retrieved now. The training run adds click-judged queries to the catalog's own
once there are enough, if a ranker trained with them does at least as well on held-out clicks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hybrid_search.core.catalog import SearchRequest, product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import PhotoStore
from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.metrics import ndcg_at_k
from hybrid_search.evaluation.runner import Retrievals, retrieve_all, searched
from hybrid_search.evaluation.synthetic import CatalogProduct, SyntheticQuery, synthetic_queries
from hybrid_search.models.encoders.attributes import ATTRIBUTES
from hybrid_search.models.encoders.lexicon import build_lexicon
from hybrid_search.models.live import record_artifacts
from hybrid_search.models.sets import artifact_name
from hybrid_search.querying.service import Retrieval, SearchService
from hybrid_search.ranking.features import LegHits, QuerySignals
from hybrid_search.ranking.learned import DEPTH, LearnedRanker, train_ranker
from hybrid_search.ranking.profiles import BlendProfile, every_leg
from hybrid_search.stores.opensearch.indices import alias_targets
from hybrid_search.stores.opensearch.products import read_vectors
from hybrid_search.stores.redis.query_log import FeatureLog

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterable[T]]
# queries per kind a catalog is asked for: about four minutes of retrieval on two cores
PER_KIND = {"attributes": 700, "described": 300, "words": 500, "title": 600, "photo": 500}
MIN_PRODUCTS = 50
MIN_PER_KIND = 20
HOLD_OUT_EVERY = 4  # every fourth click-judged query tests whether clicks help the catalog's queries
Group = tuple[LegHits, QuerySignals, dict[str, int]]  # a judged query: its legs' hits, signals, grades


def no_progress(items: Iterable[T], _desc: str, _total: int) -> Iterable[T]:
    return items


def catalog_products(service: SearchService) -> list[CatalogProduct]:
    """The live index's ready products as the generator reads them."""
    index = alias_targets(service.client, service.settings.products_alias)[0]
    rows = read_vectors(service.client, index, ["title", *ATTRIBUTES, "image_hash"], ready_only=True)
    return [
        CatalogProduct(
            id=doc_id,
            title=str(row.get("title") or ""),
            **{name: str(row.get(name) or "") for name in ATTRIBUTES},
            image_hash=row.get("image_hash"),
        )
        for doc_id, row in sorted(rows.items())
    ]


def retrieve_synthetic(
    service: SearchService,
    queries: Sequence[SyntheticQuery],
    profile: BlendProfile,
    progress: Progress = no_progress,
) -> Retrievals:
    service.understanding.encode_ahead([q.text for q in queries if q.text])

    def retrieve(q: SyntheticQuery) -> Retrieval:
        return service.retrieve(SearchRequest(q=q.text), q.photo, profile, exclude=q.exclude)

    retrieved = progress(searched(queries, retrieve), "retrieve", len(queries))
    return dict(zip([q.id for q in queries], retrieved, strict=True))


def train_from_catalog(
    service: SearchService,
    base: BlendProfile,
    per_kind: Mapping[str, int] = PER_KIND,
    seed: int = 0,
    progress: Progress = no_progress,
    clicks: Sequence[Group] = (),
) -> LearnedRanker:
    """A ranker trained on the queries the live catalog yields, and on ``clicks`` (click-judged
    queries) where a ranker trained with three quarters of them does at least as well on the last
    quarter as the catalog's queries alone; ``trained_on.clicks`` says what they did."""
    products = catalog_products(service)
    if len(products) < MIN_PRODUCTS:
        raise InvalidInputError("products", f"{len(products)} ready products; the ranker needs at least {MIN_PRODUCTS}")
    heads = service.understanding.attributes
    lexicon = heads.lexicon if heads is not None else None
    if lexicon is None:  # heads from before the lexicon, or none yet
        rows = [{"title": p.title, **{name: getattr(p, name) for name in ATTRIBUTES}} for p in products]
        lexicon = build_lexicon(rows, ATTRIBUTES)
    photos = PhotoStore(service.settings.photo_root)
    # a small catalog yields fewer distinct queries: about one per eight products of each kind
    asked = {kind: min(n, max(MIN_PER_KIND, len(products) // 8)) for kind, n in per_kind.items()}
    queries = synthetic_queries(products, lexicon, photos.get, asked, seed)
    retrievals = retrieve_synthetic(service, queries, every_leg(DEPTH, base.attribute_weights), progress)
    groups = [(retrievals[q.id].legs, retrievals[q.id].signals, q.grades) for q in queries]
    kinds = {kind: sum(q.kind == kind for q in queries) for kind in asked}
    trained_on: dict[str, Any] = {"catalog": len(products), "queries": kinds}
    catalog_only = _trained(groups, seed=seed, meta={"trained_on": trained_on})
    if not clicks:
        return catalog_only
    held, kept = clicks[::HOLD_OUT_EVERY], [c for i, c in enumerate(clicks) if i % HOLD_OUT_EVERY]
    alone, together = held_out_ndcg(catalog_only, held), held_out_ndcg(_trained([*groups, *kept], seed=seed), held)
    used = together >= alone
    trained_on["clicks"] = {
        "queries": len(clicks),
        "held_out": len(held),
        "held_out_ndcg@10": {"catalog": alone, "catalog and clicks": together},
        "used": used,
    }
    return _trained([*groups, *clicks], seed=seed, meta={"trained_on": trained_on}) if used else catalog_only


def click_groups(
    service: SearchService,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, float]],
    base_dir: Path,
    base: BlendProfile,
    progress: Progress = no_progress,
    logged: FeatureLog | None = None,
) -> tuple[list[Group], int]:
    """Judged queries as training groups, and how many came from ``logged``: the legs kept from a
    search of the same text (as served), else the legs retrieved now."""
    judged = [q for q in queries if qrels.get(q.id)]
    served = logged.logged([q.text for q in judged if q.text and not q.image]) if logged is not None else {}
    from_log = [q for q in judged if q.text in served and not q.image]
    logged_ids = {q.id for q in from_log}
    fresh = [q for q in judged if q.id not in logged_ids]
    retrievals = retrieve_all(
        service,
        fresh,
        base_dir,
        every_leg(DEPTH, base.attribute_weights),
        lambda items: progress(items, "retrieve", len(fresh)),
    )
    groups = [(r.legs, r.signals, graded(r.legs, qrels[qid])) for qid, r in retrievals.items()]
    groups += [(served[q.text][0], served[q.text][1], graded(served[q.text][0], qrels[q.id])) for q in from_log]
    return groups, len(from_log)


def train_from_judgments(
    service: SearchService,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, float]],
    base_dir: Path,
    base: BlendProfile,
    source: str,
    progress: Progress = no_progress,
    logged: FeatureLog | None = None,
) -> LearnedRanker:
    """A ranker trained on judged queries (a judgment list, or one inferred from clicks)."""
    groups, from_log = click_groups(service, queries, qrels, base_dir, base, progress, logged)
    trained_on = {"judgments": source, "queries": len(groups), "logged": from_log}
    return _trained(groups, meta={"trained_on": trained_on})


def held_out_ndcg(ranker: LearnedRanker, groups: Sequence[Group]) -> float:
    """Mean nDCG@10 of ``ranker`` over judged groups it was not trained on."""
    scores = [
        ndcg_at_k([h.doc_id for h in ranker.rank(legs, signals).hits], grades) for legs, signals, grades in groups
    ]
    return round(sum(scores) / len(scores), 4) if scores else 0.0


def _trained(groups: Sequence, **kwargs: Any) -> LearnedRanker:
    try:
        return train_ranker(groups, **kwargs)
    except ValueError as exc:
        raise InvalidInputError("queries", str(exc)) from None


def graded(legs: Mapping[str, Sequence[tuple[str, float]]], judged: Mapping[str, float]) -> dict[str, int]:
    """Each retrieved product's grade (judgments name products by their merchant's own ids)."""
    out = {}
    for hits in legs.values():
        for doc_id, _ in hits:
            if (grade := judged.get(product_id_of(doc_id))) is not None and grade > 0:
                out[doc_id] = round(grade)
    return out


def save_and_record(service: SearchService, ranker: LearnedRanker) -> dict[str, Any]:
    """Save the ranker as an artifact and record it on the live index: every process serving the
    alias ranks with it within ``models_poll_s``, without a restart."""
    path = ranker.save(service.settings.models_dir)
    index = record_artifacts(service.client, service.settings, ranker=path)
    return {"artifact": artifact_name(path, service.settings), "index": index, **ranker.meta}

"""Hybrid search: encode the query, run the legs that fit it in one _msearch, blend, rerank, page, explain."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hybrid_search.catalog import SearchRequest
from hybrid_search.errors import InvalidInputError, NotFoundError
from hybrid_search.opensearch.client import OpenSearchClient
from hybrid_search.opensearch.queries import SOURCE_EXCLUDES, build_bm25_query, build_filters, build_knn_query
from hybrid_search.opensearch.search import get_source, get_sources, run_legs
from hybrid_search.pipeline import EmbeddingPipeline
from hybrid_search.profiles import ProfileCache
from hybrid_search.ranking.combine import combine
from hybrid_search.ranking.explain import explain_hit
from hybrid_search.ranking.rerank import AFFINITY_FIELDS, rerank, user_boost
from hybrid_search.settings import Settings
from hybrid_search.users import UserProfiles

LEG_FIELDS = {"text": "text_vector", "fused": "fused_vector", "image": "image_vector"}


@dataclass(frozen=True)
class QueryVectors:
    text: np.ndarray | None = None
    fused: np.ndarray | None = None
    image: np.ndarray | None = None
    exclude: tuple[str, ...] = ()


class SearchService:
    """One per process: holds the query encoders (loaded once) and a cache of encoded query texts."""

    def __init__(
        self,
        settings: Settings,
        client: OpenSearchClient,
        pipeline: EmbeddingPipeline,
        profiles: ProfileCache,
        users: UserProfiles,
    ) -> None:
        self.settings = settings
        self.client = client
        self.pipeline = pipeline
        self.profiles = profiles
        self.users = users
        self._encode_text = lru_cache(maxsize=4096)(self._encode_text_uncached)

    def _encode_text_uncached(self, text: str) -> np.ndarray:
        vector = self.pipeline.text_encoder.encode([text], kind="query")[0]
        vector.setflags(write=False)
        return vector

    def encode(self, request: SearchRequest, photo: bytes | None) -> QueryVectors:
        """Vectors for the legs this query can use: its text, its photo, or a product it is like."""
        fuser = self.pipeline.fuser
        if request.like:
            try:
                source = get_source(
                    self.client, self.settings.products_alias, request.like, ["fused_vector", "image_vector"]
                )
            except NotFoundError:
                raise InvalidInputError("like", f"no product {request.like!r}") from None
            if "fused_vector" not in source:
                raise InvalidInputError("like", f"product {request.like!r} is not embedded yet")
            image = np.asarray(source["image_vector"]) if "image_vector" in source else None
            return QueryVectors(fused=np.asarray(source["fused_vector"]), image=image, exclude=(request.like,))
        text = self._encode_text(request.q) if request.q else None
        if photo is not None:
            image = self.pipeline.image_encoder.encode([photo])
            return QueryVectors(text=text, image=image[0], fused=fuser.image_query(image)[0])
        return QueryVectors(text=text, fused=fuser.text_query(text[None, :])[0] if text is not None else None)

    def search(self, request: SearchRequest, photo: bytes | None = None) -> dict[str, Any]:
        if not (request.q or photo is not None or request.like):
            raise InvalidInputError("q", "give a query text, a photo or like=<product id>")
        if request.price_min is not None and request.price_max is not None and request.price_min > request.price_max:
            raise InvalidInputError("price_min", "must not be above price_max")
        stored = self.profiles.get(request.profile)
        profile = stored.profile
        if request.page * request.size > profile.window:
            raise InvalidInputError("page", f"page * size must stay within the fusion window of {profile.window}")
        started = time.perf_counter()
        vectors = self.encode(request, photo)
        encoded = time.perf_counter()

        user = self.users.get(request.user_id) if request.user_id else None
        personalise = user is not None and not user.empty and profile.rerank_weight > 0
        filters = build_filters(request.filters(), request.price_min, request.price_max, vectors.exclude)
        # Legs return ids and scores only; documents are fetched for the page alone (and, to
        # personalise, the few fields the boost needs for the rerank head).
        legs: dict[str, dict[str, Any]] = {}
        if request.q and not request.like and profile.weight("bm25") > 0:
            legs["bm25"] = build_bm25_query(request.q, filters, profile.window, source=False)
        for leg, field in LEG_FIELDS.items():
            vector = getattr(vectors, leg)
            if vector is not None and profile.weight(leg) > 0:
                legs[leg] = build_knn_query(field, vector, profile.window, filters, source=False)
        if not legs:
            raise InvalidInputError("profile", f"profile {stored.name} gives every leg this query can use weight 0")
        results = run_legs(self.client, self.settings.products_alias, legs)
        searched = time.perf_counter()

        weights = {leg: profile.weight(leg) for leg in legs}
        combined = combine(
            {leg: [(h["_id"], h["_score"]) for h in hits] for leg, hits in results.items()},
            weights,
            profile.normalisation,
            profile.combination,
            profile.rank_constant,
            profile.missing,
        )[: profile.window]
        rerank_weight = profile.rerank_weight if personalise else 0.0
        head, tail = combined[: profile.rerank_depth], combined[profile.rerank_depth :]
        boosts: dict[str, float] = {}
        if personalise:
            fields = get_sources(
                self.client, self.settings.products_alias, [c.doc_id for c in head], ["fused_vector", *AFFINITY_FIELDS]
            )
            boosts = {
                c.doc_id: user_boost(
                    user, fields.get(c.doc_id, {}).get("fused_vector"), fields.get(c.doc_id, {}), profile.vector_share
                )
                for c in head
            }
        ranked = rerank(head, boosts, rerank_weight) + rerank(tail, {}, 0.0)
        page = ranked[(request.page - 1) * request.size : request.page * request.size]
        products = get_sources(
            self.client, self.settings.products_alias, [r.hit.doc_id for r in page], excludes=SOURCE_EXCLUDES
        )
        hits = []
        for item in page:
            hit = {"id": item.hit.doc_id, "score": item.score, "product": products.get(item.hit.doc_id, {})}
            if request.explain:
                hit["explain"] = explain_hit(
                    item,
                    weights,
                    profile.normalisation,
                    profile.combination,
                    profile.rank_constant,
                    profile.missing,
                    rerank_weight,
                )
            hits.append(hit)
        done = time.perf_counter()
        return {
            "query_id": str(uuid.uuid4()),
            "profile": {"name": stored.name, "version": stored.version},
            "page": request.page,
            "size": request.size,
            "total": len(ranked),
            "personalised": personalise,
            "legs": {leg: len(h) for leg, h in results.items()},
            "timings_ms": {
                "encode": _ms(started, encoded),
                "search": _ms(encoded, searched),
                "blend": _ms(searched, done),
                "total": _ms(started, done),
            },
            "hits": hits,
        }


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 2)

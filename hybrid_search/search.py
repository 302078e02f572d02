"""Hybrid search: encode the query, run the legs that fit it in one _msearch, blend, rerank, page, explain."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from hybrid_search.catalog import SearchRequest
from hybrid_search.encoders.attributes import (
    ATTRIBUTES,
    AttributeModel,
    Intent,
    load_attribute_model,
    merge_intents,
    photo_intent,
    resolve_attribute_model,
)
from hybrid_search.encoders.dictionary import CJK_RUN, Dictionary, load_dictionary
from hybrid_search.errors import InvalidInputError, NotFoundError
from hybrid_search.opensearch.client import OpenSearchClient
from hybrid_search.opensearch.profiles import get_active
from hybrid_search.opensearch.queries import (
    SOURCE_EXCLUDES,
    build_attribute_query,
    build_bm25_query,
    build_filters,
    build_knn_query,
)
from hybrid_search.opensearch.search import cosines_and_sources, get_source, run_legs, search_sources
from hybrid_search.pipeline import EmbeddingPipeline
from hybrid_search.profiles import BlendProfile, ProfileCache
from hybrid_search.ranking.combine import Combined, combine
from hybrid_search.ranking.explain import explain_hit
from hybrid_search.ranking.query_class import query_class
from hybrid_search.ranking.rerank import rerank, user_boost
from hybrid_search.services import Services
from hybrid_search.settings import Settings
from hybrid_search.users import UserProfiles

LEG_FIELDS = {"text": "text_vector", "fused": "fused_vector", "image": "image_vector"}
VOTER_LEGS = ("fused", "image")


@dataclass(frozen=True)
class QueryVectors:
    text: np.ndarray | None = None
    fused: np.ndarray | None = None
    image: np.ndarray | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retrieval:
    """What the legs of one query found, before blending: best-first (id, raw score) per leg."""

    legs: dict[str, list[tuple[str, float]]]
    intent: Intent | None
    query_class: str
    encode_ms: float
    search_ms: float


class SearchService:
    """One per process: holds the query encoders (loaded once) and a cache of encoded query texts."""

    PHOTO_VOTERS = 20  # nearest products per voting leg whose attribute values make a photo query's intent
    PHOTO_VOTE_TEMPERATURE = 0.02  # a voter counts exp((score - best score) / T)

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
        self._encode_text = lru_cache(maxsize=settings.query_cache_size)(self._encode_text_uncached)

    @classmethod
    def from_services(cls, services: Services) -> SearchService:
        """The query side of one process: encoders (loaded on first use), profiles, user profiles."""
        settings = services.settings
        cache = ProfileCache(lambda name: get_active(services.opensearch, settings.profiles_index, name))
        return cls(
            settings,
            services.opensearch,
            EmbeddingPipeline(settings),
            cache,
            UserProfiles(services.redis, settings.products_alias),
        )

    def _encode_text_uncached(self, text: str) -> np.ndarray:
        vector = self.pipeline.text_encoder.encode([text], kind="query")[0]
        vector.setflags(write=False)
        return vector

    @cached_property
    def dictionary(self) -> Dictionary | None:
        return load_dictionary(self.settings.query_dictionary)

    def warm(self) -> None:
        """Load what queries need (encoders, dictionary, attribute heads) now rather than on the first query."""
        self._encode_text("warm up")
        _ = self.dictionary, self.attributes, self.pipeline.image_encoder, self.pipeline.fuser

    def translate(self, text: str) -> str:
        """A Chinese query's English gloss (what the encoders read); other text as it is."""
        if self.dictionary is None or not CJK_RUN.search(text):
            return text
        return self.dictionary.translate(text) or text

    def encode(self, request: SearchRequest, photo: bytes | None, gloss: str) -> QueryVectors:
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
        text = self._encode_text(gloss) if request.q else None
        if photo is not None:
            image = self.pipeline.image_encoder.encode([photo])
            return QueryVectors(text=text, image=image[0], fused=fuser.image_query(image)[0])
        return QueryVectors(text=text, fused=fuser.text_query(text[None, :])[0] if text is not None else None)

    @cached_property
    def attributes(self) -> AttributeModel | None:
        path = resolve_attribute_model(self.settings.attribute_model, self.settings.models_dir)
        return load_attribute_model(path) if path else None

    def choose_profile(self, stored: BlendProfile, request: SearchRequest, photo: bytes | None) -> BlendProfile:
        """The query class's override, else the whole profile, whichever has a leg this query and
        service can run. Without attribute heads, a profile that leans on the attributes leg alone
        for this query falls back to the plain blend of the other legs (the field defaults)."""
        override = stored.for_class(query_class(request.q, photo is not None or bool(request.like)))
        for candidate in (override, stored):
            if self.usable_legs(candidate, request, photo):
                return candidate
        if self.attributes is None and (override.weight("attributes") or stored.weight("attributes")):
            return BlendProfile()
        return override  # retrieve() says which field is wrong

    def usable_legs(self, profile: BlendProfile, request: SearchRequest, photo: bytes | None) -> set[str]:
        """The legs ``profile`` weighs that this query and this service can run."""
        available = set()
        if request.like or photo is not None:
            available |= {"fused", "image"}
        if request.q and not request.like:
            available |= {"bm25", "text", "fused"}
        if self.attributes is not None and (request.q or photo is not None or request.like):
            available.add("attributes")
        return {leg for leg in available if profile.weight(leg) > 0}

    def retrieve(
        self, request: SearchRequest, photo: bytes | None, profile: BlendProfile, exclude: tuple[str, ...] = ()
    ) -> Retrieval:
        """Encode the query and run the legs ``profile`` weighs in one _msearch (two for a photo's
        attribute leg, which needs the nearest photos first). Leg hits are ids and scores only."""
        started = time.perf_counter()
        gloss = self.translate(request.q)  # what the encoders read; BM25 reads it beside the original
        vectors = self.encode(request, photo, gloss)
        encoded = time.perf_counter()
        excluded = (*vectors.exclude, *exclude)
        filters = build_filters(request.filters(), request.price_min, request.price_max, excluded)
        legs: dict[str, dict[str, Any]] = {}
        if request.q and not request.like and profile.weight("bm25") > 0:
            text = request.q if gloss == request.q else f"{request.q} {gloss}"
            legs["bm25"] = build_bm25_query(text, filters, profile.window)
        want_attributes = profile.weight("attributes") > 0 and self.attributes is not None
        intent = None
        if want_attributes and vectors.text is not None:
            intent = self.attributes.text_intent(vectors.text)
            legs["attributes"] = build_attribute_query(intent, profile.attribute_weights, filters, profile.window)
        # A photo's intent is voted by its nearest products in the fused space (every product, with
        # or without a photo) and among photos; those legs run whenever attributes do, even at weight 0.
        voters = want_attributes and intent is None
        for leg, field in LEG_FIELDS.items():
            vector = getattr(vectors, leg)
            votes = voters and leg in VOTER_LEGS
            if vector is not None and (profile.weight(leg) > 0 or votes):
                fields = ATTRIBUTES if votes else ()
                legs[leg] = build_knn_query(field, vector, profile.window, filters, fields)
        if not legs:
            raise InvalidInputError("profile", "the profile gives every leg this query can use weight 0")
        results = run_legs(self.client, self.settings.products_alias, legs)
        if voters and any(results.get(leg) for leg in VOTER_LEGS):
            intent = self.attributes.canonical(
                merge_intents(
                    [
                        photo_intent(
                            [(h.fields, h.score) for h in results[leg][: self.PHOTO_VOTERS]],
                            self.PHOTO_VOTE_TEMPERATURE,
                        )
                        for leg in VOTER_LEGS
                        if results.get(leg)
                    ]
                )
            )
            query = build_attribute_query(intent, profile.attribute_weights, filters, profile.window)
            results |= run_legs(self.client, self.settings.products_alias, {"attributes": query})
        searched = time.perf_counter()
        return Retrieval(
            legs={leg: [(h.doc_id, h.score) for h in hits] for leg, hits in results.items()},
            intent=intent,
            query_class=query_class(request.q, photo is not None or bool(request.like)),
            encode_ms=_ms(started, encoded),
            search_ms=_ms(encoded, searched),
        )

    def search(self, request: SearchRequest, photo: bytes | None = None) -> dict[str, Any]:
        if not (request.q or photo is not None or request.like):
            raise InvalidInputError("q", "give a query text, a photo or like=<product id>")
        if request.price_min is not None and request.price_max is not None and request.price_min > request.price_max:
            raise InvalidInputError("price_min", "must not be above price_max")
        stored = self.profiles.get(request.profile)
        profile = self.choose_profile(stored.profile, request, photo)
        if request.page * request.size > profile.window:
            raise InvalidInputError("page", f"page * size must stay within the fusion window of {profile.window}")
        started = time.perf_counter()
        retrieval = self.retrieve(request, photo, profile)
        searched = time.perf_counter()

        user = self.users.get(request.user_id) if request.user_id else None
        personalise = user is not None and not user.empty and profile.rerank_weight > 0
        weights = {leg: profile.weight(leg) for leg in retrieval.legs if profile.weight(leg) > 0}
        combined = blend(retrieval.legs, profile)
        rerank_weight = profile.rerank_weight if personalise else 0.0
        head, tail = combined[: profile.rerank_depth], combined[profile.rerank_depth :]
        boosts: dict[str, float] = {}
        products: dict[str, dict[str, Any]] = {}
        if personalise:
            # one round trip: each head product's cosine with the user, and its source (the page's
            # products are among them unless the page lies past the rerank depth)
            cosine_to = ("fused_vector", user.vector) if user.vector is not None else None
            scored = cosines_and_sources(
                self.client, self.settings.products_alias, [c.doc_id for c in head], SOURCE_EXCLUDES, cosine_to
            )
            boosts = {
                pid: user_boost(user, similarity, source, profile.vector_share)
                for pid, (similarity, source) in scored.items()
            }
            products = {pid: source for pid, (_, source) in scored.items()}
        ranked = rerank(head, boosts, rerank_weight) + rerank(tail, {}, 0.0)
        page = ranked[(request.page - 1) * request.size : request.page * request.size]
        missing = [r.hit.doc_id for r in page if r.hit.doc_id not in products]
        products |= search_sources(self.client, self.settings.products_alias, missing, excludes=SOURCE_EXCLUDES)
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
        out: dict[str, Any] = {
            "query_id": str(uuid.uuid4()),
            "profile": {"name": stored.name, "version": stored.version, "query_class": retrieval.query_class},
            "page": request.page,
            "size": request.size,
            "total": len(ranked),
            "personalised": personalise,
            "legs": {leg: len(h) for leg, h in retrieval.legs.items() if leg in weights},
            "timings_ms": {
                "encode": retrieval.encode_ms,
                "search": retrieval.search_ms,
                "blend": _ms(searched, done),
                "total": _ms(started, done),
            },
            "hits": hits,
        }
        if request.explain and retrieval.intent is not None:
            out["intent"] = retrieval.intent
        return out


def blend(legs: dict[str, list[tuple[str, float]]], profile: BlendProfile) -> list[Combined]:
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


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 2)

"""Hybrid search: understand and encode the query, run its legs and blend them (inside OpenSearch with
the ``hybrid`` query where the cluster and the profile allow it, else one _msearch blended here),
rerank per user, page, explain."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hybrid_search.core.catalog import TAGGED, SearchRequest, split_doc_id
from hybrid_search.core.errors import InvalidInputError, NotFoundError, ServiceUnavailableError
from hybrid_search.core.photos import check_full_decode
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.attributes import Intent
from hybrid_search.models.live import LiveModels, alias_record
from hybrid_search.querying.legs import LEGS, LEGS_BY_NAME
from hybrid_search.querying.response import Hit, SearchResult, Timings, elapsed_ms
from hybrid_search.querying.retrieval import LegRunner, match_set
from hybrid_search.querying.storefront import (
    Storefront,
    facet_counts,
    storefront_aggregations,
    with_facets,
)
from hybrid_search.querying.understanding import QueryUnderstanding, Understood
from hybrid_search.ranking.explain import explain_hit, user_reasons
from hybrid_search.ranking.features import QuerySignals
from hybrid_search.ranking.learned import LearnedRanker, Ranking
from hybrid_search.ranking.pipeline import blend, choose_profile, page_of, rerank_head
from hybrid_search.ranking.profiles import BlendProfile, ProfileCache, StoredProfile, every_leg
from hybrid_search.ranking.query_class import query_class
from hybrid_search.ranking.rerank import AFFINITY_FIELDS, UserProfile, asked_fields, user_boost
from hybrid_search.stores.opensearch.client import NEURAL_SEARCH, OpenSearchClient, cluster_plugins
from hybrid_search.stores.opensearch.hybrid import NativeBlend, build_hybrid_body, hybrid_hit, native_blend
from hybrid_search.stores.opensearch.profiles import get_reference
from hybrid_search.stores.opensearch.queries import (
    HIDDEN_FIELDS,
)
from hybrid_search.stores.opensearch.search import (
    MatchSet,
    cosines_and_sources,
    count_match_set,
    get_sources,
    passthrough_search,
    run_hybrid,
    search_sources,
)
from hybrid_search.stores.redis.query_log import FeatureLog
from hybrid_search.stores.redis.users import UserProfiles
from hybrid_search.stores.services import Services

HYBRID_ENGINE, MSEARCH_ENGINE = "opensearch-hybrid", "msearch"
LEARNED_ENGINE = "learned"  # the _msearch legs ranked by the learned ranker the index records
SORTED_ENGINE = "sorted"  # no blend: the match set in the order a search asked for


@dataclass(frozen=True)
class SearchPlan:
    """What /search runs for one request, before it runs anything but the query's encoding."""

    request: SearchRequest
    stored: StoredProfile
    query_class: str
    profile: BlendProfile  # the stored profile's choice for this query (class override or fallback)
    understood: Understood
    engine: str
    why: str = ""  # why the native engine does not run where it was wanted
    native_legs: tuple[str, ...] = ()  # the hybrid query's sub-queries, in order, when it runs
    native: NativeBlend | None = None
    ranker: LearnedRanker | None = None  # the learned ranker, when it ranks this search
    gathered: BlendProfile | None = None  # with the ranker: every leg the query can run, at its depth


@dataclass(frozen=True)
class Retrieval:
    """What the legs of one query found, before blending: best-first (id, raw score) per leg."""

    legs: dict[str, list[tuple[str, float]]]
    intent: Intent | None
    query_class: str
    encode_ms: float
    search_ms: float
    signals: QuerySignals = QuerySignals()  # what the learned ranker reads of the query itself


class SearchService:
    """One per process: holds the query encoders (loaded once) and a cache of encoded query texts."""

    PLUGINS_TTL_S = 30.0  # how often a process asks the cluster again whether it has neural-search

    def __init__(
        self,
        settings: Settings,
        client: OpenSearchClient,
        models: LiveModels,
        profiles: ProfileCache,
        users: UserProfiles,
        feature_log: FeatureLog | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.models = models
        self.profiles = profiles
        self.users = users
        self.feature_log = feature_log  # the learned ranker's inputs per query text, for training on clicks
        self.understanding = QueryUnderstanding(settings, client, models)
        self.legs = LegRunner(settings, client, models)
        self._plugins_lock = threading.Lock()
        self._plugins_checked: tuple[float, bool] | None = None

    @classmethod
    def from_services(cls, services: Services) -> SearchService:
        """The query side of one process: the alias's models (loaded on first use), profiles, user profiles."""
        settings = services.settings
        cache = ProfileCache(lambda ref: get_reference(services.opensearch, settings.profiles_index, ref))
        return cls(
            settings,
            services.opensearch,
            LiveModels(settings, lambda: alias_record(services.opensearch, settings.products_alias)),
            cache,
            UserProfiles(services.redis, settings.products_alias),
            FeatureLog(services.redis, settings.products_alias, settings.feature_log_ttl_s)
            if settings.feature_log_ttl_s
            else None,
        )

    def warm(self) -> None:
        """Load what queries need (encoders, dictionaries, attribute heads) now rather than on the first query."""
        self.understanding.warm()
        self.hybrid_query_available()

    def hybrid_query_available(self) -> bool:
        """Whether every node has neural-search (its ``hybrid`` query), asked at most every PLUGINS_TTL_S."""
        now = time.monotonic()
        with self._plugins_lock:
            checked = self._plugins_checked
        if checked is not None and now - checked[0] < self.PLUGINS_TTL_S:
            return checked[1]
        available = NEURAL_SEARCH in cluster_plugins(self.client)
        with self._plugins_lock:
            self._plugins_checked = (now, available)
        return available

    def retrieve(
        self, request: SearchRequest, photo: bytes | None, profile: BlendProfile, exclude: tuple[str, ...] = ()
    ) -> Retrieval:
        """Encode the query and run the legs ``profile`` weighs in one _msearch (two for a photo's
        attribute leg, which needs the nearest products' votes first). Leg hits are ids and scores only."""
        understood = self.understanding.understand(request, photo, profile, exclude)
        started = time.perf_counter()
        legs, intent, _, matches = self.legs.run(understood, profile, photo=photo)
        return Retrieval(
            legs=legs,
            intent=intent,
            query_class=query_class(request.q, photo is not None or bool(request.like)),
            encode_ms=understood.encode_ms,
            search_ms=elapsed_ms(started, time.perf_counter()),
            signals=_signals(request, photo, intent, matches, understood.foreign),
        )

    def _engine(self, plan: SearchPlan) -> SearchPlan:
        """``plan`` with its engine: the request's, else the service's. OpenSearch's ``hybrid`` query
        runs where the cluster has it and it computes this profile's blend in one round trip; otherwise
        the _msearch legs are blended here, and ``why`` says why when the hybrid query was wanted."""
        request, profile, inputs = plan.request, plan.profile, plan.understood.inputs
        wanted = self.settings.blend_engine if request.engine == "auto" else request.engine
        if wanted == MSEARCH_ENGINE:
            return plan
        legs = tuple(
            leg.name for leg in LEGS if profile.weight(leg.name) > 0 and getattr(inputs, leg.reads) is not None
        )
        native = native_blend(profile, legs, request.explain)
        if plan.understood.voting:
            reason = "a photo's attribute intent is voted by its nearest products first"
        elif not self.hybrid_query_available():
            reason = f"the cluster has no {NEURAL_SEARCH} plugin"
        else:
            reason = native.reason
        if not reason:
            return replace(plan, engine=HYBRID_ENGINE, native_legs=legs, native=native)
        if request.engine == HYBRID_ENGINE:
            raise InvalidInputError("engine", f"OpenSearch's hybrid query cannot run this search: {reason}")
        return replace(plan, why=reason)

    def plan(
        self, request: SearchRequest, photo: bytes | None = None, storefront: Storefront | None = None
    ) -> SearchPlan:
        """What /search runs for ``request`` (within a ``storefront``'s filters): the profile it
        chooses, the query's inputs, the engine."""
        if not (request.q or photo is not None or request.like):
            raise InvalidInputError("q", "give a query text, a photo or like=<product id>")
        if photo is not None:
            check_full_decode(photo, self.settings.max_search_photo_pixels, "photo")
        if request.price_min is not None and request.price_max is not None and request.price_min > request.price_max:
            raise InvalidInputError("price_min", "must not be above price_max")
        try:
            stored = self.profiles.get(request.profile)
        except NotFoundError as exc:
            raise NotFoundError(str(exc), field="profile") from None
        klass = query_class(request.q, photo is not None or bool(request.like))
        profile = choose_profile(stored.profile, klass, self.understanding.available_legs(request, photo))
        if (request.page - 1) * request.size >= profile.window:  # a last page may be short
            window = profile.window
            raise InvalidInputError("page", f"must start within the {window} products the blend ranks (or give a sort)")
        ranker = self.models.current().ranker if profile.ranker and request.engine != HYBRID_ENGINE else None
        if ranker is not None:
            legs = ranker.legs_for(photo is not None or bool(request.like))
            gathered = every_leg(ranker.depth, profile.attribute_weights, legs)
            understood = self.understanding.understand(request, photo, gathered, storefront=storefront)
            return SearchPlan(
                request, stored, klass, profile, understood, LEARNED_ENGINE, ranker=ranker, gathered=gathered
            )
        understood = self.understanding.understand(request, photo, profile, storefront=storefront)
        return self._engine(SearchPlan(request, stored, klass, profile, understood, MSEARCH_ENGINE))

    def hybrid_body(self, plan: SearchPlan, start: int, size: int, with_sources: bool = False) -> dict[str, Any]:
        """The ``hybrid`` query that blends ``plan`` inside OpenSearch: hits ``start`` to ``start + size``,
        explained when the request asks; ids alone unless ``with_sources`` (on one shard, neural-search
        2.19 fetches every hit its sub-queries collected before it normalises and pages them, so
        sources cost one parse per collected hit: p50 185-213 ms against 27-30 ms for ids, bench/latency)."""
        assert plan.native is not None and plan.native.pipeline is not None, "the plan runs in process"
        excludes = list(HIDDEN_FIELDS) if with_sources else None
        return build_hybrid_body(
            self._native_queries(plan),
            plan.native.pipeline,
            plan.profile.window,
            start,
            size,
            excludes,
            plan.request.explain,
        )

    @staticmethod
    def _native_queries(plan: SearchPlan) -> dict[str, dict[str, Any]]:
        """The hybrid query's sub-queries: each leg's query, with the plan's filters."""
        profile, inputs, filters = plan.profile, plan.understood.inputs, plan.understood.filters
        return {
            leg: LEGS_BY_NAME[leg].query(inputs, filters, profile.window, profile.attribute_weights)
            for leg in plan.native_legs
        }

    def search(
        self,
        request: SearchRequest,
        photo: bytes | None = None,
        client: str | None = None,
        storefront: Storefront | None = None,
    ) -> SearchResult:
        """One search; ``request.user_id`` is a user of ``client`` (the tenant whose key sent it).
        Without Redis the results are not personalised, and ``degraded`` says so. Within a
        ``storefront`` query, its match set counted (``total``) and aggregated (``aggregations``)."""
        started = time.perf_counter()
        schema = self.understanding.schema.current()
        facets = schema.facet_paths(request.facets)
        if request.sort:
            return self._in_request_order(
                request, photo, storefront, started, facets, schema.sort_clauses(request.sort)
            )
        plan = self.plan(request, photo, storefront)
        storefront = with_facets(storefront, facets, request.tags == "predicted")
        profile, understood = plan.profile, plan.understood
        user, degraded = None, {}
        if request.user_id and client is not None:
            try:
                user = self.users.get(client, request.user_id)
            except ServiceUnavailableError as exc:
                degraded["personalisation"] = str(exc)
        personalise = user is not None and not user.empty and profile.rerank_weight > 0
        planned = time.perf_counter()

        intent = understood.inputs.intent
        products: dict[str, dict[str, Any]] = {}
        ranking: Ranking | None = None
        matched: MatchSet | None = None
        if plan.ranker is not None and plan.gathered is not None:
            legs, intent, matched, matches = self.legs.run(understood, plan.gathered, storefront, photo)
            signals = _signals(request, photo, intent, matches, understood.foreign)
            ranking = plan.ranker.rank(legs, signals)
            blended, total, offset = ranking.hits, len(ranking.hits), 0
            legs_run = list(legs)
            if self.feature_log is not None and signals.text:
                try:
                    self.feature_log.record(signals.text, plan.ranker.version, legs, signals)
                except ServiceUnavailableError as exc:  # the search still serves; its clicks train on legs run later
                    degraded["feature_log"] = str(exc)
        elif plan.engine == HYBRID_ENGINE:
            # the page alone unless a user's boosts rerank the head first; ids only, products below
            head = min(profile.window, max(request.page * request.size, profile.rerank_depth))
            start = (request.page - 1) * request.size
            start, size = (0, head) if personalise else (start, min(request.size, profile.window - start))
            found, total = run_hybrid(
                self.client, self.settings.products_alias, self.hybrid_body(plan, start, size), request.explain
            )
            legs_run = list(plan.native_legs)
            blended = [hybrid_hit(hit, legs_run, plan.native.score_scale) for hit in found]
            total, offset = min(total, profile.window), start
            if storefront is not None:
                body = match_set(understood, profile, storefront)
                matched = count_match_set(self.client, self.settings.products_alias, body)
        else:
            legs, intent, matched, _ = self.legs.run(understood, profile, storefront)
            blended = blend(legs, profile)
            total, offset = len(blended), 0
            legs_run = [leg for leg in legs if profile.weight(leg) > 0]
        searched = time.perf_counter()

        boosts: dict[str, float] = {}
        if personalise:
            # one round trip: each head product's cosine with the user, and its source (the page's
            # products are among them unless the page lies past the rerank depth)
            head = blended[: profile.rerank_depth]
            cosine_to = ("fused_vector", user.vector) if user.vector is not None else None
            scored = cosines_and_sources(
                self.client, self.settings.products_alias, [c.doc_id for c in head], list(HIDDEN_FIELDS), cosine_to
            )
            asked = asked_fields(intent) if profile.rerank_asked else frozenset()
            boosts = {
                pid: user_boost(user, similarity, source, profile.vector_share, asked)
                for pid, (similarity, source) in scored.items()
            }
            products = {pid: source for pid, (_, source) in scored.items()}
        ranked = rerank_head(blended, boosts, profile, personalise)
        page = page_of(ranked, request.page - offset // request.size, request.size)
        missing = [r.hit.doc_id for r in page if r.hit.doc_id not in products]
        products |= search_sources(self.client, self.settings.products_alias, missing, excludes=list(HIDDEN_FIELDS))
        weights = {leg: profile.weight(leg) for leg in legs_run}
        rerank_weight = profile.rerank_weight if personalise else 0.0
        reasons = {}
        if request.explain and request.why and personalise:
            reasons = self._reasons(client, request.user_id, user, [r.hit.doc_id for r in page])
        hits = []
        for item in page:
            merchant, own = split_doc_id(item.hit.doc_id)
            product = products.get(item.hit.doc_id, {})
            explained = None
            if request.explain:
                explained = explain_hit(
                    item,
                    weights,
                    profile.normalisation,
                    profile.combination,
                    profile.rank_constant,
                    profile.missing,
                    rerank_weight,
                ) | {"engine": plan.engine}
                if ranking is not None and plan.ranker is not None:
                    explained["combination"] = {"method": LEARNED_ENGINE, "ranker": plan.ranker.version}
                    explained["learned"] = plan.ranker.explain(ranking, item.hit.doc_id)
                if item.hit.doc_id in reasons:
                    explained["why"] = reasons[item.hit.doc_id]
                if predicted := predicted_values(product):
                    explained["predicted"] = predicted  # what the attributes leg and filters read as its values
            hits.append(Hit(own, merchant, item.score, product, explained))
        done = time.perf_counter()
        return _answer(
            plan,
            request,
            engine=plan.engine,
            why=plan.why,
            total=matched.total if matched is not None else total,
            ranked=min(total, profile.window),
            personalised=personalise,
            legs=legs_run,
            timings=Timings(
                encode=understood.encode_ms,
                search=elapsed_ms(planned, searched),  # the legs and their blend
                page=elapsed_ms(searched, done),  # the user's rerank, the page's products, explain
                total=elapsed_ms(started, done),
            ),
            hits=self._shown(hits),
            facets=facet_counts(request.facets, matched.aggregations)
            if matched is not None and request.facets
            else None,
            aggregations=storefront_aggregations(matched) or None
            if storefront is not None and matched is not None
            else None,
            intent=intent if request.explain else None,
            degraded=degraded,
        )

    def in_storefront_order(
        self, request: SearchRequest, storefront: Storefront, page: dict[str, Any], photo: bytes | None = None
    ) -> tuple[dict[str, Any], SearchPlan]:
        """The search's match set (what ``search`` counts) in a storefront's own order: ``page`` is the
        body's ``sort``, ``from``/``size`` or ``search_after`` and ``_source`` (checked by the read
        path); the match set query's relevance breaks ties, then the id. OpenSearch's answer, as the
        sort is OpenSearch's, deep paging included; no blend or rerank (the shopper chose the order)."""
        plan = self.plan(request, photo, storefront)
        body = match_set(plan.understood, plan.gathered or plan.profile, Storefront(aggs=storefront.aggs))
        sort = [*page.get("sort", []), {"_score": "desc"}, {"product_id": "asc"}, {"merchant_id": "asc"}]
        body |= {**page, "sort": sort, "track_scores": True}
        if storefront.post_filter is not None:  # OpenSearch's own: the hits and their total, not the aggregations
            body["post_filter"] = storefront.post_filter
        return passthrough_search(self.client, self.settings.products_alias, body, {}), plan

    def _in_request_order(
        self,
        request: SearchRequest,
        photo: bytes | None,
        storefront: Storefront | None,
        started: float,
        facets: dict[str, str],
        sort: list[dict[str, str]],
    ) -> SearchResult:
        """/search with ``sort``: the match set in that order, a page of it, as ``search`` answers."""
        start = (request.page - 1) * request.size
        page = {
            "sort": sort,
            "from": start,
            "size": request.size,
            "_source": {"excludes": list(HIDDEN_FIELDS)},
        }
        planned = time.perf_counter()
        counted = with_facets(storefront, facets, request.tags == "predicted") or Storefront()
        # the page is OpenSearch's to find (deep pages included): the plan need not fit it in a window
        answer, plan = self.in_storefront_order(request.model_copy(update={"page": 1}), counted, page, photo)
        found = answer["hits"]["hits"]
        hits = []
        for h in found:
            merchant, own = split_doc_id(h["_id"])
            hits.append(Hit(own, merchant, h["_score"], h["_source"], sort=h["sort"]))
        matched = MatchSet(answer["hits"]["total"]["value"], answer.get("aggregations", {}))
        done = time.perf_counter()
        return _answer(
            plan,
            request,
            engine=SORTED_ENGINE,
            sort=list(request.sort),
            total=matched.total,
            ranked=matched.total,  # OpenSearch pages the whole match set in a sort
            personalised=False,  # the shopper chose the order
            legs=[],
            timings=Timings(
                encode=plan.understood.encode_ms,
                search=elapsed_ms(planned, done),
                page=0.0,
                total=elapsed_ms(started, done),
            ),
            hits=self._shown(hits),
            facets=facet_counts(request.facets, matched.aggregations) if request.facets else None,
        )

    def _shown(self, hits: list[Hit]) -> list[Hit]:
        """``hits`` with only the fields the catalog schema shows (all of them where it hides none)."""
        schema = self.understanding.schema.current()
        return [replace(hit, product=schema.shown(hit.product)) for hit in hits]

    def _reasons(self, client: str, user_id: str, user: UserProfile, page: list[str]) -> dict[str, dict[str, Any]]:
        """Per page product: the user's favoured attribute values it has and their nearest history products."""
        history_keys = self.users.history(client, user_id)
        fields = ["fused_vector", "title", *AFFINITY_FIELDS]
        sources = get_sources(self.client, self.settings.products_alias, sorted(set(history_keys) | set(page)), fields)
        history = [
            (
                split_doc_id(key)[1],
                sources[key].get("title", ""),
                np.asarray(sources[key]["fused_vector"], dtype=np.float32),
            )
            for key in history_keys
            if sources.get(key, {}).get("fused_vector")
        ]
        return {
            key: user_reasons(
                user,
                sources[key],
                np.asarray(sources[key]["fused_vector"], dtype=np.float32)
                if sources[key].get("fused_vector")
                else None,
                [h for h in history if h[0] != split_doc_id(key)[1]],
            )
            for key in page
            if key in sources
        }


def _signals(
    request: SearchRequest,
    photo: bytes | None,
    intent: Intent | None,
    matches: dict[str, int] | None = None,
    foreign: bool = False,
) -> QuerySignals:
    looks = photo is not None or bool(request.like)
    text = "" if looks else request.q or ""
    return QuerySignals(text=text, photo=looks, intent=intent, photo_matches=matches, foreign=foreign)


def predicted_values(product: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The taggers' values a product carries for attributes it lacks, with their confidence (the
    search reads them as its values: explain says which were predicted)."""
    tags = product.get("tags") or {}
    return {
        name: {"value": tag["value"], "confidence": tag["confidence"]}
        for name in TAGGED
        if not product.get(name) and (tag := tags.get(name))
    }


def _answer(plan: SearchPlan, request: SearchRequest, **fields: Any) -> SearchResult:
    """The result of ``plan``'s search for ``request``'s page: a new query id, the profile it chose,
    and ``fields``."""
    return SearchResult(
        query_id=str(uuid.uuid4()),
        profile=plan.stored.name,
        profile_version=plan.stored.version,
        query_class=plan.query_class,
        page=request.page,
        size=request.size,
        **fields,
    )

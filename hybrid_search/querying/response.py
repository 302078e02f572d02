"""What a search answers, typed: ``SearchService.search`` returns a ``SearchResult``; the API, the
console and the OpenSearch-shaped read path serialise it at their edge (``to_json``). A product is
its stored document as OpenSearch returned it, and an explanation is the breakdown ``ranking/explain``
builds: both are JSON by nature, and pass through as such."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Hit:
    """One product of a page: its id within its merchant's catalog, its score, its stored fields."""

    id: str
    merchant: str
    score: float
    product: Json
    explain: Json | None = None  # with ``explain=true``
    sort: list[Any] | None = None  # its sort values, in a search with ``sort``

    def to_json(self) -> Json:
        out: Json = {"id": self.id, "merchant": self.merchant, "score": self.score, "product": self.product}
        if self.sort is not None:
            out["sort"] = self.sort
        if self.explain is not None:
            out["explain"] = self.explain
        return out


def elapsed_ms(start: float, end: float) -> float:
    """Milliseconds between two ``time.perf_counter()`` readings, as ``Timings`` reports them."""
    return round((end - start) * 1000, 2)


@dataclass(frozen=True)
class Timings:
    """Milliseconds: encoding the query, its legs and their blend, the page (rerank, products, explain)."""

    encode: float
    search: float
    page: float
    total: float


@dataclass(frozen=True)
class SearchResult:
    """A page of a search and how it was made: the profile and engine, the legs run, the timings."""

    query_id: str
    profile: str
    profile_version: int | None
    query_class: str
    engine: str
    page: int
    size: int
    total: int  # products that match (the match set's count where a storefront asks for it)
    ranked: int  # how many the blend ranks: the pages it serves
    personalised: bool
    legs: list[str]
    timings: Timings
    hits: list[Hit]
    why: str = ""  # why the engine is not the one asked for
    sort: list[str] | None = None  # a search in the request's order
    facets: Json | None = None
    aggregations: Json | None = None
    intent: Json | None = None  # the attribute values the query asks for, with ``explain=true``
    degraded: dict[str, str] = field(default_factory=dict)  # what was left out, and why

    def ids(self) -> list[str]:
        return [hit.id for hit in self.hits]

    def to_json(self) -> Json:
        out: Json = {
            "query_id": self.query_id,
            "profile": {"name": self.profile, "version": self.profile_version, "query_class": self.query_class},
            "engine": {"name": self.engine, **({"why": self.why} if self.why else {})},
            "page": self.page,
            "size": self.size,
            "total": self.total,
            "ranked": self.ranked,
            "personalised": self.personalised,
            "legs": self.legs,
            "timings_ms": vars(self.timings).copy(),
            "hits": [hit.to_json() for hit in self.hits],
        }
        optional = {
            "sort": self.sort,
            "facets": self.facets,
            "aggregations": self.aggregations,
            "intent": self.intent,
            "degraded": self.degraded or None,
        }
        out |= {name: value for name, value in optional.items() if value is not None}
        return out

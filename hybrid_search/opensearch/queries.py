"""Query DSL builders. They return plain dicts; user text only ever goes in as a value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BM25_FIELDS = (
    "title^3",
    "title.zh^2",
    "brand^2",
    "brand.zh",
    "category_path",
    "category_path.zh",
    "description",
    "description.zh",
)
SOURCE_EXCLUDES = ["text_vector", "image_vector", "fused_vector", "behaviour_vector"]


def build_filters(
    filters: Mapping[str, Sequence[str]],
    price_min: float | None = None,
    price_max: float | None = None,
    exclude_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """A bool query of term filters (any of the values per field), a price range and excluded ids."""
    clauses: list[dict[str, Any]] = [{"terms": {name: list(values)}} for name, values in filters.items() if values]
    price = {k: v for k, v in (("gte", price_min), ("lte", price_max)) if v is not None}
    if price:
        clauses.append({"range": {"price": price}})
    query: dict[str, Any] = {"filter": clauses}
    if exclude_ids:
        query["must_not"] = [{"ids": {"values": list(exclude_ids)}}]
    return {"bool": query}


def build_bm25_query(
    text: str, filters: dict[str, Any], size: int, fields: Sequence[str] = BM25_FIELDS, source: bool | list[str] = True
) -> dict[str, Any]:
    """multi_match over the English-analysed fields and their CJK sub-fields, with the filters."""
    return {
        "size": size,
        "query": {
            "bool": {
                "must": [
                    {"multi_match": {"query": text, "fields": list(fields), "type": "best_fields", "tie_breaker": 0.3}}
                ],
                "filter": [filters],
            }
        },
        "_source": _source(source),
    }


def build_knn_query(
    field: str, vector: Sequence[float], k: int, filters: dict[str, Any], source: bool | list[str] = True
) -> dict[str, Any]:
    """Lucene HNSW k-NN with the filters applied during the graph search (efficient filtering)."""
    knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": k}
    if filters["bool"].get("filter") or filters["bool"].get("must_not"):
        knn["filter"] = filters
    return {"size": k, "query": {"knn": {field: knn}}, "_source": _source(source)}


# A product for everyone fits a query for either gender (the catalog's own convention).
ALSO_MATCHES = {"gender": {"men": ("unisex",), "women": ("unisex",)}}


def build_attribute_query(
    intent: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    filters: dict[str, Any],
    size: int,
) -> dict[str, Any]:
    """Products scored by the attribute values a query asks for: the sum, over attributes, of the
    attribute's weight times the probability of the product's value (constant-score terms)."""
    should: list[dict[str, Any]] = []
    for name, values in intent.items():
        weight = weights.get(name, 0.0)
        for value, probability in values.items():
            boost = round(weight * probability, 4)
            if boost <= 0:
                continue
            matches = [value, *ALSO_MATCHES.get(name, {}).get(value.lower(), ())]
            should.append({"constant_score": {"filter": {"terms": {name: matches}}, "boost": boost}})
    if not should:
        should = [{"match_none": {}}]
    return {
        "size": size,
        "query": {"bool": {"should": should, "minimum_should_match": 1, "filter": [filters]}},
        "_source": False,
    }


def _source(source: bool | list[str]) -> Any:
    if source is True:
        return {"excludes": SOURCE_EXCLUDES}
    return source

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


def _source(source: bool | list[str]) -> Any:
    if source is True:
        return {"excludes": SOURCE_EXCLUDES}
    return source

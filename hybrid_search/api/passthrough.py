"""The read-only search DSL the ``/<alias>/_search`` passthrough accepts: an allow-list, checked
before anything reaches OpenSearch; every rejection names the part of the body (``body.aggs.x``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybrid_search.catalog import whole
from hybrid_search.errors import InvalidInputError
from hybrid_search.opensearch.queries import SOURCE_EXCLUDES

MAX_SIZE = 100
MAX_WINDOW = 1000  # from + size: deep pages cost every shard a window of hits
MAX_BUCKETS = 1000

BODY_KEYS = frozenset(
    {
        "query",
        "post_filter",
        "aggs",
        "aggregations",
        "sort",
        "from",
        "size",
        "_source",
        "track_total_hits",
        "highlight",
        "min_score",
        "search_after",
        "timeout",
        "terminate_after",
    }
)
PARAMS = frozenset({"from", "size", "track_total_hits", "timeout", "typed_keys", "rest_total_hits_as_int"})
# Anywhere in a body: code (scripts), other indices (terms lookup, more_like_this and geo_shape
# documents, percolate), DSL the checks cannot see (wrapper holds base64 JSON), and field fetching
# that reads around _source.
FORBIDDEN_KEYS = frozenset(
    {
        "script",
        "script_score",
        "script_fields",
        "scripted_metric",
        "bucket_script",
        "bucket_selector",
        "runtime_mappings",
        "index",
        "_index",
        "indices",
        "percolate",
        "wrapper",
        "stored_fields",
        "docvalue_fields",
        "inner_hits",
        "top_hits",
    }
)
AGGREGATIONS = frozenset(
    {
        "terms",
        "range",
        "histogram",
        "date_histogram",
        "min",
        "max",
        "avg",
        "sum",
        "stats",
        "extended_stats",
        "value_count",
        "cardinality",
        "percentiles",
        "missing",
        "filter",
        "filters",
    }
)
# Facets a storefront shows; merchant_id and internal fields are aggregated by the admin only.
AGGREGATION_FIELDS = frozenset(
    {
        "article_type",
        "category",
        "colour",
        "gender",
        "usage",
        "season",
        "year",
        "price",
        "currency",
        "brand.keyword",
        "has_image",
    }
)
HIGHLIGHT_FIELDS = frozenset(
    f"{name}{sub}" for name in ("title", "description", "brand", "category_path") for sub in ("", ".zh")
)
HIDDEN_FIELDS = (*SOURCE_EXCLUDES, "content_hash", "model_version", "image_path", "status_reason")


def guarded_body(body: Mapping[str, Any], admin: bool) -> dict[str, Any]:
    """``body`` if it only reads the index within the limits, with the hidden fields excluded from
    ``_source`` unless ``admin``; an InvalidInputError naming the part otherwise."""
    for key in body:
        if key not in BODY_KEYS:
            allowed = ", ".join(sorted(BODY_KEYS))
            raise InvalidInputError(f"body.{key}", f"not accepted here (allowed: {allowed})")
    _check_tree(body, "body")
    size, start = whole(body.get("size", 10), "body.size"), whole(body.get("from", 0), "body.from")
    check_page(start, size, "body")
    for name in ("aggs", "aggregations"):
        if name in body:
            _check_aggregations(body[name], f"body.{name}", admin)
    if not admin and "highlight" in body:
        _check_highlight(body["highlight"])
    out = dict(body)
    if not admin:
        out["_source"] = _without_hidden(body.get("_source", True))
    return out


def guarded_params(params: Mapping[str, str]) -> dict[str, str]:
    """The query-string parameters, if all are read-only ones within the limits."""
    for name in params:
        if name not in PARAMS:
            raise InvalidInputError(name, f"not accepted here (allowed: {', '.join(sorted(PARAMS))})")
    check_page(whole(params.get("from", 0), "from"), whole(params.get("size", 10), "size"), "")
    return dict(params)


def check_page(start: int, size: int, prefix: str) -> None:
    dot = f"{prefix}." if prefix else ""
    if not 0 <= size <= MAX_SIZE:
        raise InvalidInputError(f"{dot}size", f"must be between 0 and {MAX_SIZE}")
    if start < 0 or start + size > MAX_WINDOW:
        raise InvalidInputError(f"{dot}from", f"from + size must be between 0 and {MAX_WINDOW}")


def _check_tree(node: Any, path: str) -> None:
    stack = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key in FORBIDDEN_KEYS:
                    raise InvalidInputError(f"{where}.{key}", "not allowed in a passthrough search")
                stack.append((child, f"{where}.{key}"))
        elif isinstance(value, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(value))


def _check_aggregations(aggs: Any, path: str, admin: bool) -> None:
    if not isinstance(aggs, dict):
        raise InvalidInputError(path, "must be an object of named aggregations")
    for name, agg in aggs.items():
        where = f"{path}.{name}"
        if not isinstance(agg, dict):
            raise InvalidInputError(where, "must be an object")
        kinds = [k for k in agg if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1 or kinds[0] not in AGGREGATIONS:
            raise InvalidInputError(where, f"one aggregation of: {', '.join(sorted(AGGREGATIONS))}")
        spec = agg[kinds[0]]
        if isinstance(spec, dict):
            field = spec.get("field")
            if field is not None and not admin and field not in AGGREGATION_FIELDS:
                allowed = ", ".join(sorted(AGGREGATION_FIELDS))
                raise InvalidInputError(f"{where}.{kinds[0]}.field", f"not an aggregatable field (allowed: {allowed})")
            if "size" in spec and not 0 < whole(spec["size"], f"{where}.{kinds[0]}.size") <= MAX_BUCKETS:
                raise InvalidInputError(f"{where}.{kinds[0]}.size", f"must be between 1 and {MAX_BUCKETS}")
        for sub in ("aggs", "aggregations"):
            if sub in agg:
                _check_aggregations(agg[sub], f"{where}.{sub}", admin)


def _check_highlight(highlight: Any) -> None:
    fields = highlight.get("fields") if isinstance(highlight, dict) else None
    if isinstance(fields, dict):
        names = list(fields)
    elif isinstance(fields, list):  # [{"title": {}}, ...], the ordered form
        names = [name for item in fields if isinstance(item, dict) for name in item]
    else:
        raise InvalidInputError("body.highlight.fields", "must name the fields to highlight")
    for name in names:
        if name not in HIGHLIGHT_FIELDS:
            allowed = ", ".join(sorted(HIGHLIGHT_FIELDS))
            raise InvalidInputError(f"body.highlight.fields.{name}", f"not a highlightable field (allowed: {allowed})")


def _without_hidden(source: Any) -> Any:
    """The ``_source`` option with the hidden fields excluded (excludes win over includes)."""
    if source is False:
        return False
    if source is True:
        return {"excludes": list(HIDDEN_FIELDS)}
    if isinstance(source, str | list):
        includes = [source] if isinstance(source, str) else source
        return {"includes": includes, "excludes": list(HIDDEN_FIELDS)}
    if isinstance(source, dict):
        excludes = source.get("excludes", source.get("exclude", []))
        excludes = [excludes] if isinstance(excludes, str) else list(excludes)
        kept = {k: v for k, v in source.items() if k not in ("excludes", "exclude")}
        return {**kept, "excludes": [*excludes, *HIDDEN_FIELDS]}
    raise InvalidInputError("body._source", "must be a boolean, a field pattern, a list or an object")

"""The read-only search DSL the ``/<alias>/_search`` passthrough accepts: a parsed allow-list,
checked before anything reaches OpenSearch. Every query, aggregation and sort is walked: a query type,
an aggregation type, a parameter or a field that is not named here is refused, and the rejection
names the part of the body (``body.query.terms_set.colour.minimum_should_match_script``). So a query
type OpenSearch adds, or one forgotten here, is closed until it is named, not open until it is
found. Scripts, other indices (terms lookups, more_like_this, percolate) and DSL the walk cannot read
(``wrapper``, ``query_string``'s field syntax) are never named.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

from hybrid_search.core.catalog import TAGGED, whole
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.schema import SPECS, SPECS_TEXT, Analyzer
from hybrid_search.stores.opensearch.queries import HIDDEN_FIELDS

MAX_SIZE = 100
MAX_WINDOW = 1000  # from + size: deep pages cost every shard a window of hits
MAX_SCROLL_SIZE = 1000  # a scroll's page (a catalog export's: the clients' scan asks for 1000)
MAX_KEEP_ALIVE_S = 600  # how long a scroll may keep its search context open between pages
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
PARAMS = frozenset({"from", "size", "track_total_hits", "timeout", "typed_keys", "rest_total_hits_as_int", "scroll"})
TIME_VALUE = re.compile(r"(\d{1,9})(nanos|micros|ms|s|m|h|d)")
SECONDS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
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
# The attributes a storefront filters and facets on; merchant_id and internal fields are the admin's.
FACETS = frozenset(
    {"article_type", "category", "colour", "gender", "usage", "season", "year", "price", "currency", "has_image"}
    | {f"tags.{name}.value" for name in TAGGED}  # the taggers' values, where a product lacks the merchant's
)
AGGREGATION_FIELDS = FACETS | {"brand.keyword"}
# the built-in text fields in each language a catalog schema may analyse them in (core/schema.py)
HIGHLIGHT_FIELDS = frozenset(
    f"{name}{sub}"
    for name in ("title", "description", "brand", "category_path", SPECS_TEXT)
    for sub in ("", ".zh", *(f".{a}" for a in get_args(Analyzer) if a not in ("english", "cjk")))
)
# Fields a storefront searches, filters and sorts on (the admin: any field)
TEXT_FIELDS = HIGHLIGHT_FIELDS | {"title.raw", "brand.keyword"}
VALUE_FIELDS = FACETS | {"product_id", "popularity", "created_at", "updated_at"}
QUERY_FIELDS = TEXT_FIELDS | VALUE_FIELDS
SORT_FIELDS = VALUE_FIELDS | {"title.raw", "brand.keyword"}
VECTOR_FIELDS = frozenset({"text_vector", "image_vector", "fused_vector"})  # k-NN only; behaviour: the admin's
FLAT_PREFIX = "attributes."  # a merchant's own attributes (a flat_object field): attributes.<name>
SPECS_PREFIX = f"{SPECS}."  # the catalog schema's declared fields (core/schema.py): a shop's own, a storefront's
COMMON = frozenset({"boost", "_name"})
# leaf queries: {"<type>": {"<field>": value | {options}}}, the options each type takes
LEAF_OPTIONS: dict[str, frozenset[str]] = {
    "match": frozenset(
        {
            "query",
            "operator",
            "minimum_should_match",
            "fuzziness",
            "prefix_length",
            "max_expansions",
            "fuzzy_transpositions",
            "lenient",
            "zero_terms_query",
            "auto_generate_synonyms_phrase_query",
            "analyzer",
        }
    ),
    "match_phrase": frozenset({"query", "slop", "analyzer", "zero_terms_query"}),
    "match_phrase_prefix": frozenset({"query", "slop", "max_expansions", "analyzer"}),
    "match_bool_prefix": frozenset(
        {"query", "operator", "minimum_should_match", "fuzziness", "prefix_length", "max_expansions", "analyzer"}
    ),
    "term": frozenset({"value", "case_insensitive"}),
    "prefix": frozenset({"value", "case_insensitive"}),
    "wildcard": frozenset({"value", "wildcard", "case_insensitive"}),
    "fuzzy": frozenset({"value", "fuzziness", "max_expansions", "prefix_length", "transpositions"}),
    "range": frozenset(
        {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format", "relation", "time_zone"}
    ),
    "terms_set": frozenset({"terms", "minimum_should_match_field"}),
}
MULTI_MATCH = frozenset(LEAF_OPTIONS["match"] | {"fields", "type", "tie_breaker", "slop"})
SIMPLE_QUERY_STRING = frozenset(
    {
        "query",
        "fields",
        "default_operator",
        "flags",
        "lenient",
        "minimum_should_match",
        "analyzer",
        "quote_field_suffix",
        "auto_generate_synonyms_phrase_query",
        "fuzzy_max_expansions",
        "fuzzy_prefix_length",
        "fuzzy_transpositions",
    }
)
KNN_OPTIONS = frozenset({"vector", "k", "filter", "min_score", "max_distance", "method_parameters"})
DECAY_OPTIONS = frozenset({"origin", "scale", "offset", "decay"})
FUNCTIONS = frozenset({"weight", "field_value_factor", "random_score", "gauss", "linear", "exp"})
# what each aggregation type takes besides its field ("filter" is a query, "filters" named queries)
AGGREGATION_OPTIONS: dict[str, frozenset[str]] = {
    "terms": frozenset({"field", "size", "min_doc_count", "order", "missing", "include", "exclude", "shard_size"}),
    "range": frozenset({"field", "ranges", "keyed", "missing"}),
    "histogram": frozenset(
        {"field", "interval", "min_doc_count", "extended_bounds", "hard_bounds", "offset", "order", "keyed", "missing"}
    ),
    "date_histogram": frozenset(
        {
            "field",
            "calendar_interval",
            "fixed_interval",
            "format",
            "time_zone",
            "min_doc_count",
            "extended_bounds",
            "hard_bounds",
            "offset",
            "order",
            "keyed",
            "missing",
        }
    ),
    **{
        kind: frozenset({"field", "missing", "format"}) for kind in ("min", "max", "avg", "sum", "stats", "value_count")
    },
    "extended_stats": frozenset({"field", "missing", "sigma"}),
    "cardinality": frozenset({"field", "missing", "precision_threshold"}),
    "percentiles": frozenset({"field", "missing", "percents", "keyed"}),
    "missing": frozenset({"field"}),
    "filters": frozenset({"filters", "other_bucket", "other_bucket_key"}),
}


def check_query(node: Any, path: str, admin: bool) -> None:
    """Refuse (InvalidInputError naming the part) anything in a query that is not named here."""
    if not isinstance(node, dict) or len(node) != 1:
        raise InvalidInputError(path, "must be an object of one query type")
    ((kind, spec),) = node.items()
    where = f"{path}.{kind}"
    check = COMPOUND.get(kind)
    if check is not None:
        check(_object(spec, where), where, admin)
    elif kind in LEAF_OPTIONS:
        _leaf(kind, _object(spec, where), where, admin)
    elif kind in BLENDS:
        raise InvalidInputError(where, BLENDS[kind])
    else:
        allowed = ", ".join(sorted({*COMPOUND, *LEAF_OPTIONS}))
        raise InvalidInputError(where, f"not a query type accepted here (allowed: {allowed})")


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(path, "must be an object")
    return value


def _keys(spec: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in spec:
        if key not in allowed:
            raise InvalidInputError(f"{path}.{key}", f"not accepted here (allowed: {', '.join(sorted(allowed))})")


def _value(value: Any, path: str) -> None:
    """A parameter's value: a scalar or a list of scalars, never an object (where code would hide)."""
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if isinstance(item, dict | list):
            raise InvalidInputError(f"{path}[{i}]" if isinstance(value, list) else path, "must be a plain value")


def _field(name: Any, path: str, admin: bool, allowed: frozenset[str] = QUERY_FIELDS) -> None:
    if not isinstance(name, str):
        raise InvalidInputError(path, "must be a field name")
    if admin or name in allowed or name.startswith(SPECS_PREFIX):
        return
    if allowed is QUERY_FIELDS and name.startswith(FLAT_PREFIX):
        return
    raise InvalidInputError(path, f"not a field a storefront reads (allowed: {', '.join(sorted(allowed))})")


def _leaf(kind: str, spec: dict[str, Any], path: str, admin: bool) -> None:
    fields = [key for key in spec if key not in COMMON]
    if kind != "terms_set" and len(fields) != 1:
        raise InvalidInputError(path, "must name one field")
    for key in COMMON & spec.keys():
        _value(spec[key], f"{path}.{key}")
    for name in fields:
        where = f"{path}.{name}"
        _field(name, where, admin)
        options = spec[name]
        if not isinstance(options, dict):
            if kind in ("range", "terms_set"):
                raise InvalidInputError(where, "must be an object of options")
            _value(options, where)
            continue
        _keys(options, LEAF_OPTIONS[kind] | COMMON, where)
        for key, value in options.items():
            _value(value, f"{where}.{key}")
        if kind == "terms_set" and "minimum_should_match_field" in options:
            _field(options["minimum_should_match_field"], f"{where}.minimum_should_match_field", admin, VALUE_FIELDS)


def _clauses(value: Any, path: str, admin: bool) -> None:
    """A query, or a list of them (bool's clauses)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_query(item, f"{path}[{i}]", admin)
    else:
        check_query(value, path, admin)


def _with(
    allowed: frozenset[str], queries: frozenset[str] = frozenset(), lists: frozenset[str] = frozenset()
) -> Callable[[dict[str, Any], str, bool], None]:
    """A compound query's check: its parameters, which of them are a query (or clauses), which a
    list of queries; the rest plain values."""

    def check(spec: dict[str, Any], path: str, admin: bool) -> None:
        _keys(spec, allowed | queries | lists | COMMON, path)
        for key, value in spec.items():
            where = f"{path}.{key}"
            if key in queries:
                _clauses(value, where, admin)
            elif key in lists:
                if not isinstance(value, list):
                    raise InvalidInputError(where, "must be a list of queries")
                _clauses(value, where, admin)
            else:
                _value(value, where)

    return check


def _terms(spec: dict[str, Any], path: str, admin: bool) -> None:
    fields = [key for key in spec if key not in COMMON]
    if len(fields) != 1:
        raise InvalidInputError(path, "must name one field")
    for key in COMMON & spec.keys():
        _value(spec[key], f"{path}.{key}")
    where = f"{path}.{fields[0]}"
    _field(fields[0], where, admin)
    if not isinstance(spec[fields[0]], list):  # an object is a lookup in another document
        raise InvalidInputError(where, "must be a list of values (no lookups)")
    _value(spec[fields[0]], where)


def _exists(spec: dict[str, Any], path: str, admin: bool) -> None:
    _keys(spec, COMMON | {"field"}, path)
    _field(spec.get("field"), f"{path}.field", admin)


def _field_list(spec: dict[str, Any], path: str, admin: bool) -> None:
    fields = spec.get("fields")
    if fields is None and not admin:
        raise InvalidInputError(f"{path}.fields", "must name the fields to search")
    for i, name in enumerate(fields or []):
        _field(name.split("^", 1)[0] if isinstance(name, str) else name, f"{path}.fields[{i}]", admin)


def _with_fields(allowed: frozenset[str]) -> Callable[[dict[str, Any], str, bool], None]:
    """A query over named fields (multi_match, simple_query_string): its options, and its ``fields``,
    which a storefront must name (without them it searches every field, hidden ones too)."""
    plain = _with(allowed - {"fields"})

    def check(spec: dict[str, Any], path: str, admin: bool) -> None:
        plain({k: v for k, v in spec.items() if k != "fields"}, path, admin)
        _field_list(spec, path, admin)

    return check


def _knn(spec: dict[str, Any], path: str, admin: bool) -> None:
    if len(spec) != 1:
        raise InvalidInputError(path, "must name one vector field")
    ((name, options),) = spec.items()
    where = f"{path}.{name}"
    if not admin and name not in VECTOR_FIELDS:
        raise InvalidInputError(where, f"not a vector field a storefront searches ({', '.join(sorted(VECTOR_FIELDS))})")
    options = _object(options, where)
    _keys(options, KNN_OPTIONS | COMMON, where)
    for key, value in options.items():
        if key == "filter":
            check_query(value, f"{where}.filter", admin)
        elif key == "method_parameters":
            for param, v in _object(value, f"{where}.{key}").items():
                _value(v, f"{where}.{key}.{param}")
        else:
            _value(value, f"{where}.{key}")
    if "k" in options and not 0 < whole(options["k"], f"{where}.k") <= MAX_WINDOW:
        raise InvalidInputError(f"{where}.k", f"must be between 1 and {MAX_WINDOW}")


def _function(spec: dict[str, Any], path: str, admin: bool) -> None:
    """One of function_score's functions (or its single-function shorthand): a weight, a field's
    value, a random score or a decay over a field; never a script."""
    for key, value in spec.items():
        where = f"{path}.{key}"
        if key == "filter":
            check_query(value, where, admin)
        elif key in ("weight", "boost", "_name"):
            _value(value, where)
        elif key == "field_value_factor":
            options = _object(value, where)
            _keys(options, frozenset({"field", "factor", "modifier", "missing"}), where)
            _field(options.get("field"), f"{where}.field", admin, VALUE_FIELDS)
            for option, v in options.items():
                _value(v, f"{where}.{option}")
        elif key == "random_score":
            options = _object(value, where)
            _keys(options, frozenset({"seed", "field"}), where)
            for option, v in options.items():
                _value(v, f"{where}.{option}")
        elif key in ("gauss", "linear", "exp"):
            for name, options in _object(value, where).items():
                if name == "multi_value_mode":
                    _value(options, f"{where}.{name}")
                    continue
                _field(name, f"{where}.{name}", admin, VALUE_FIELDS)
                options = _object(options, f"{where}.{name}")
                _keys(options, DECAY_OPTIONS, f"{where}.{name}")
                for option, v in options.items():
                    _value(v, f"{where}.{name}.{option}")
        else:
            allowed = ", ".join(sorted(FUNCTIONS | {"filter"}))
            raise InvalidInputError(where, f"not a function accepted here (allowed: {allowed})")


def _function_score(spec: dict[str, Any], path: str, admin: bool) -> None:
    settings = frozenset({"boost_mode", "score_mode", "max_boost", "min_score", "boost", "_name"})
    for key, value in spec.items():
        where = f"{path}.{key}"
        if key == "query":
            check_query(value, where, admin)
        elif key == "functions":
            if not isinstance(value, list):
                raise InvalidInputError(where, "must be a list of functions")
            for i, function in enumerate(value):
                _function(_object(function, f"{where}[{i}]"), f"{where}[{i}]", admin)
        elif key in settings:
            _value(value, where)
        else:
            _function({key: value}, path, admin)


COMPOUND: dict[str, Callable[[dict[str, Any], str, bool], None]] = {
    "bool": _with(
        frozenset({"minimum_should_match", "adjust_pure_negative"}),
        queries=frozenset({"must", "should", "filter", "must_not"}),
    ),
    "constant_score": _with(frozenset(), queries=frozenset({"filter"})),
    "dis_max": _with(frozenset({"tie_breaker"}), lists=frozenset({"queries"})),
    "boosting": _with(frozenset({"negative_boost"}), queries=frozenset({"positive", "negative"})),
    "function_score": _function_score,
    "match_all": _with(frozenset()),
    "match_none": _with(frozenset()),
    "terms": _terms,
    "exists": _exists,
    "ids": _with(frozenset({"values"})),
    "multi_match": _with_fields(MULTI_MATCH),
    "simple_query_string": _with_fields(SIMPLE_QUERY_STRING),
    "knn": _knn,
}


# neural-search's queries, which this index answers wrongly outside the blend: a hybrid query needs a
# search pipeline to normalise its legs (without one it returns each hit once per leg, with raw scores),
# a neural query a model deployed in the cluster (the encoders run in this project's workers)
BLENDS = {
    "hybrid": "OpenSearch's hybrid query needs a search pipeline: send ext.hybrid (the /search parameters)",
    "neural": "no model is deployed in the cluster: send ext.hybrid with q, or a knn query with a vector",
}


def check_sort(sort: Any, admin: bool) -> None:
    """Sort by score, index order or a storefront value field; no scripts, no geo distances."""
    for i, entry in enumerate(sort if isinstance(sort, list) else [sort]):
        where = f"body.sort[{i}]" if isinstance(sort, list) else "body.sort"
        if isinstance(entry, str):
            name, options = entry, None
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, options),) = entry.items()
        else:
            raise InvalidInputError(where, "must be a field name or an object of one field")
        if name not in ("_score", "_doc"):
            _field(name, f"{where}.{name}" if options is not None else where, admin, SORT_FIELDS)
        if isinstance(options, dict):
            allowed = frozenset({"order", "missing", "mode", "unmapped_type", "numeric_type", "format"})
            _keys(options, allowed, f"{where}.{name}")
            for key, value in options.items():
                _value(value, f"{where}.{name}.{key}")
        elif options is not None:
            _value(options, f"{where}.{name}")


def guarded_body(body: Mapping[str, Any], admin: bool, scroll: bool = False) -> dict[str, Any]:
    """``body`` if it only reads the index within the limits (a ``scroll``'s page may be larger), with
    the hidden fields excluded from ``_source`` unless ``admin``; an InvalidInputError naming the part
    otherwise."""
    for key in body:
        if key not in BODY_KEYS:
            allowed = ", ".join(sorted(BODY_KEYS))
            raise InvalidInputError(f"body.{key}", f"not accepted here (allowed: {allowed})")
    _check_tree(body, "body")  # a second line: no script's key anywhere, whatever the walk below lets by
    size, start = whole(body.get("size", 10), "body.size"), whole(body.get("from", 0), "body.from")
    check_page(start, size, "body", scroll)
    for name in ("query", "post_filter"):
        if name in body:
            check_query(body[name], f"body.{name}", admin)
    if "sort" in body:
        check_sort(body["sort"], admin)
    for name in ("aggs", "aggregations"):
        if name in body:
            _check_aggregations(body[name], f"body.{name}", admin)
    if "highlight" in body:
        _check_highlight(body["highlight"], admin)
    for name in ("search_after", "track_total_hits", "min_score", "timeout", "terminate_after"):
        if name in body:
            _value(body[name], f"body.{name}")
    if "timeout" in body and not (isinstance(body["timeout"], str) and TIME_VALUE.fullmatch(body["timeout"])):
        raise InvalidInputError("body.timeout", "must be a time value such as 500ms or 5s")
    out = dict(body)
    if not admin:
        out["_source"] = _without_hidden(body.get("_source", True))
    return out


def guarded_params(params: Mapping[str, str]) -> dict[str, str]:
    """The query-string parameters, if all are read-only ones within the limits."""
    for name in params:
        if name not in PARAMS:
            raise InvalidInputError(name, f"not accepted here (allowed: {', '.join(sorted(PARAMS))})")
    scroll = "scroll" in params
    check_page(whole(params.get("from", 0), "from"), whole(params.get("size", 10), "size"), "", scroll)
    if "timeout" in params and not TIME_VALUE.fullmatch(params["timeout"]):
        raise InvalidInputError("timeout", "must be a time value such as 500ms or 5s")
    if scroll:
        keep_alive_seconds(params["scroll"], "scroll")
    return dict(params)


def keep_alive_seconds(value: Any, field: str) -> float:
    """A scroll's keep-alive in seconds: a time value of at most ``MAX_KEEP_ALIVE_S`` (an open search
    context holds the index's segments and memory on every shard)."""
    matched = TIME_VALUE.fullmatch(value) if isinstance(value, str) else None
    if matched is None:
        raise InvalidInputError(field, "must be a time value such as 1m")
    seconds = int(matched[1]) * SECONDS[matched[2]]
    if not 0 < seconds <= MAX_KEEP_ALIVE_S:
        raise InvalidInputError(field, f"must keep a scroll open between 1ms and {MAX_KEEP_ALIVE_S}s")
    return seconds


def source_params(body: dict[str, Any], params: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``?_source=``, ``?_source_includes=`` and ``?_source_excludes=`` (comma-separated, as clients send
    them) moved into the body's ``_source``, where the hidden fields are then excluded as ever."""
    names = ("_source", "_source_includes", "_source_excludes")
    if not any(name in params for name in names):
        return body, dict(params)
    if "_source" in body:
        raise InvalidInputError("_source", "give _source in the body or as parameters, not both")
    rest = {name: value for name, value in params.items() if name not in names}
    flag = params.get("_source", "true")
    if flag.lower() == "false":
        return {**body, "_source": False}, rest
    includes = params.get("_source_includes", "" if flag.lower() == "true" else flag)
    lists = {"includes": includes, "excludes": params.get("_source_excludes", "")}
    source = {key: [part for part in value.split(",") if part] for key, value in lists.items() if value}
    return {**body, "_source": source or True}, rest


def query_param(body: dict[str, Any], params: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``?q=`` (what ``search(q=...)`` sends) as the body's query: a ``simple_query_string`` over the
    storefront's text fields. OpenSearch reads it as ``query_string``, whose syntax names any field
    (``status:failed``); this one searches words, phrases, ``+``/``-``/``|`` and prefixes only."""
    if "q" not in params:
        return body, dict(params)
    if "query" in body:
        raise InvalidInputError("q", "give q or a body query, not both")
    query = {"simple_query_string": {"query": params["q"], "fields": sorted(HIGHLIGHT_FIELDS)}}
    return {**body, "query": query}, {name: value for name, value in params.items() if name != "q"}


def with_search_timeout(body: dict[str, Any], params: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``?timeout=`` moved into the body, where OpenSearch reads it as the search's time budget (the
    client library would take the parameter as its own socket timeout and fail on "5s")."""
    if "timeout" not in params:
        return body, params
    rest = {k: v for k, v in params.items() if k != "timeout"}
    return {**body, "timeout": body.get("timeout", params["timeout"])}, rest


def check_page(start: int, size: int, prefix: str, scroll: bool = False) -> None:
    """A page of a search: at most ``MAX_SIZE`` hits (a scroll's: ``MAX_SCROLL_SIZE``), within the
    first ``MAX_WINDOW``."""
    dot = f"{prefix}." if prefix else ""
    largest = MAX_SCROLL_SIZE if scroll else MAX_SIZE
    if not 0 <= size <= largest:
        raise InvalidInputError(f"{dot}size", f"must be between 0 and {largest}")
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
    kinds_allowed = ", ".join(sorted({*AGGREGATION_OPTIONS, "filter"}))
    for name, agg in aggs.items():
        where = f"{path}.{name}"
        if not isinstance(agg, dict):
            raise InvalidInputError(where, "must be an object")
        kinds = [k for k in agg if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1 or (kinds[0] not in AGGREGATION_OPTIONS and kinds[0] != "filter"):
            bad = next((k for k in kinds if k not in AGGREGATION_OPTIONS and k != "filter"), None)
            raise InvalidInputError(f"{where}.{bad}" if bad else where, f"one aggregation of: {kinds_allowed}")
        kind = kinds[0]
        spec, at = agg[kind], f"{where}.{kind}"
        if kind == "filter":
            check_query(spec, at, admin)
        else:
            _check_aggregation(kind, _object(spec, at), at, admin)
        if "meta" in agg:
            _data(agg["meta"], f"{where}.meta")
        for sub in ("aggs", "aggregations"):
            if sub in agg:
                _check_aggregations(agg[sub], f"{where}.{sub}", admin)


def _check_aggregation(kind: str, spec: dict[str, Any], path: str, admin: bool) -> None:
    _keys(spec, AGGREGATION_OPTIONS[kind], path)
    if kind == "filters":
        named = spec.get("filters")
        items = named.items() if isinstance(named, dict) else enumerate(named) if isinstance(named, list) else None
        if items is None:
            raise InvalidInputError(f"{path}.filters", "must be named queries or a list of queries")
        for key, query in items:
            check_query(query, f"{path}.filters.{key}" if isinstance(named, dict) else f"{path}.filters[{key}]", admin)
        for key in ("other_bucket", "other_bucket_key"):
            if key in spec:
                _value(spec[key], f"{path}.{key}")
        return
    field = spec.get("field")
    if field is not None and not admin and field not in AGGREGATION_FIELDS and not str(field).startswith(SPECS_PREFIX):
        allowed = ", ".join(sorted(AGGREGATION_FIELDS))
        raise InvalidInputError(f"{path}.field", f"not an aggregatable field (allowed: {allowed})")
    for key, value in spec.items():
        _data(value, f"{path}.{key}")
    if "size" in spec and not 0 < whole(spec["size"], f"{path}.size") <= MAX_BUCKETS:
        raise InvalidInputError(f"{path}.size", f"must be between 1 and {MAX_BUCKETS}")
    bounds, interval = spec.get("extended_bounds"), spec.get("interval")
    if kind == "histogram" and isinstance(bounds, dict) and isinstance(interval, int | float) and interval > 0:
        low, high = bounds.get("min", 0), bounds.get("max", 0)
        if isinstance(low, int | float) and isinstance(high, int | float) and (high - low) / interval > MAX_BUCKETS:
            raise InvalidInputError(f"{path}.extended_bounds", f"more than {MAX_BUCKETS} buckets")


def _data(value: Any, path: str, depth: int = 3) -> None:
    """An aggregation's option: plain values, or shallow lists and objects of them (ranges, order,
    bounds), never deeper than a few levels."""
    if isinstance(value, dict | list):
        if depth == 0:
            raise InvalidInputError(path, "nested too deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _data(item, f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]", depth - 1)


def _check_highlight(highlight: Any, admin: bool) -> None:
    if isinstance(highlight, dict) and "highlight_query" in highlight:
        check_query(highlight["highlight_query"], "body.highlight.highlight_query", admin)
    if admin:
        return
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


def select_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    """A hit's ``_source`` as a (``_without_hidden``) ``_source`` option selects it: None for false,
    the top-level fields its ``includes`` patterns name (all without any) less its ``excludes``."""
    if spec is False:
        return None
    if spec is True:
        return source
    includes = _patterns(spec.get("includes", spec.get("include"))) or ["*"]
    excludes = _patterns(spec.get("excludes", spec.get("exclude")))
    return {
        name: value
        for name, value in source.items()
        if any(fnmatch.fnmatchcase(name, p) for p in includes)
        and not any(fnmatch.fnmatchcase(name, p) for p in excludes)
    }


def _patterns(value: Any) -> list[str]:
    """A ``_source`` option's field patterns: one, a list, or none."""
    return [value] if isinstance(value, str) else list(value or [])


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

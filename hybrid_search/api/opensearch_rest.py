"""The read path as OpenSearch's REST API, for backends that already speak it with any OpenSearch client:
``GET|HEAD /`` (what the clients' ``ping()`` and ``info()`` call), ``HEAD /<alias>``, ``_mapping``,
``_doc/<id>``, ``_count``, ``_search`` (and its scroll, which the clients' ``scan`` reads) and
``_msearch`` on the live products alias, read-only.

Every query goes through the passthrough's allow-list (``passthrough.py``); internal fields and vectors
are left out of every answer unless the admin key asks; ``_index`` names the alias, never the versioned
index behind it. Errors come in OpenSearch's shape (``{"error": {"type", "reason", "root_cause"},
"status"}``) with our status table (``errors.status_for``), so a client raises its own exception with
the reason. Needs a client key unless ``anonymous_passthrough``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from hybrid_search.api.auth import caller_client, is_admin
from hybrid_search.api.bodies import json_object
from hybrid_search.api.errors import opensearch_error, opensearch_error_response
from hybrid_search.api.passthrough import (
    check_page,
    check_query,
    guarded_body,
    guarded_params,
    keep_alive_seconds,
    query_param,
    select_source,
    source_params,
    with_search_timeout,
)
from hybrid_search.api.search import search_for_caller, search_service
from hybrid_search.core.catalog import SearchRequest, doc_id, parse_model, whole
from hybrid_search.core.errors import HybridSearchError, InvalidInputError, NotFoundError, UnauthorisedError
from hybrid_search.querying.storefront import Storefront
from hybrid_search.stores.opensearch.queries import HIDDEN_FIELDS
from hybrid_search.stores.opensearch.search import (
    clear_scrolls,
    count_documents,
    document_source,
    highlights,
    node_info,
    passthrough_msearch,
    passthrough_search,
    scroll_page,
    storefront_mapping,
)
from hybrid_search.stores.redis.scrolls import Scrolls
from hybrid_search.stores.services import Services

opensearch_rest = Blueprint("opensearch_rest", __name__)
MAX_SEARCHES = 20  # bodies in one _msearch
BLEND_FIELDS = ("query_id", "profile", "engine", "legs", "timings_ms", "personalised", "ranked")  # ext.hybrid's
# what a body with ext.hybrid may hold beside it: the blend ranks and pages by its window; a sort
# orders the match set instead, paged as OpenSearch pages it
BLEND_BODY = frozenset(
    {"size", "from", "query", "post_filter", "aggs", "aggregations", "_source", "track_total_hits", "highlight"}
)
SORTED_BODY = frozenset({"sort", "search_after"})


opensearch_rest.register_error_handler(HybridSearchError, opensearch_error_response)


@opensearch_rest.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    status, kind = error.code or 500, (error.name or "error").lower().replace(" ", "_")
    return jsonify(opensearch_error(kind, error.description or "", status)), status


def _services() -> Services:
    services: Services = current_app.extensions["hybrid_search"]
    if not is_admin() and caller_client() is None and not services.settings.anonymous_passthrough:
        raise UnauthorisedError("the OpenSearch API needs a client X-API-Key")
    return services


def _alias(index: str) -> str:
    """The live alias, if ``index`` names it (the only index this API reads)."""
    alias = _services().settings.products_alias
    if index != alias:
        raise NotFoundError(f"no such index [{index}]: only the live {alias} alias is served here", "index")
    return alias


@opensearch_rest.route("/", methods=["GET", "HEAD"])
def info() -> Response:
    """What ``ping()`` and ``info()`` read: the OpenSearch version behind this API, under our name."""
    return jsonify(node_info(_services().opensearch) | {"name": "hybrid-search", "tagline": "hybrid_search"})


def index_exists(index: str) -> tuple[str, int]:
    """``HEAD /<alias>`` (``indices.exists``; any other name finds no route, a 404): see ``register``."""
    _alias(index)
    return "", 200


@opensearch_rest.get("/<index>/_mapping")
def mapping(index: str) -> Response:
    alias = _alias(index)
    return jsonify({alias: {"mappings": storefront_mapping(_services().opensearch, alias, hidden=_hidden())}})


@opensearch_rest.get("/<index>/_doc/<path:product>")
def get_document(index: str, product: str) -> Response | tuple[Response, int]:
    alias = _alias(index)
    source = document_source(_services().opensearch, alias, product, excludes=_hidden())
    if source is None:
        return jsonify({"_index": alias, "_id": product, "found": False}), 404
    return jsonify({"_index": alias, "_id": product, "found": True, "_source": source})


@opensearch_rest.route("/<index>/_count", methods=["GET", "POST"])
def count(index: str) -> Response:
    alias = _alias(index)
    body = json_object(default={})
    if set(body) - {"query"}:
        raise InvalidInputError(f"body.{sorted(set(body) - {'query'})[0]}", "_count takes a query only")
    if "query" in body:
        check_query(body["query"], "body.query", is_admin())
    return jsonify(count_documents(_services().opensearch, alias, body))


@opensearch_rest.route("/<index>/_search", methods=["GET", "POST"])
def search(index: str) -> Response:
    """Plain query DSL within the allow-list, or ``ext.hybrid`` (our /search parameters) for the blend
    in OpenSearch's response shape. The admin key also sees internal fields and vectors."""
    alias = _alias(index)
    admin = is_admin()
    body = json_object(default={})
    ext = body.pop("ext", None)
    hybrid = ext.get("hybrid") if isinstance(ext, dict) else None
    if ext is not None and (not isinstance(ext, dict) or set(ext) != {"hybrid"}):
        raise InvalidInputError("body.ext", "only ext.hybrid (the /search parameters) is accepted")
    params = request.args.to_dict()
    if hybrid is None:
        body, params = query_param(*source_params(body, params))
        scrolling = "scroll" in params
        guarded, params = with_search_timeout(guarded_body(body, admin, scrolling), guarded_params(params))
        answer = passthrough_search(_services().opensearch, alias, guarded, params)
        if scrolling and "_scroll_id" in answer:
            _scrolls().issued(answer["_scroll_id"], _caller(), keep_alive_seconds(params["scroll"], "scroll"))
        return jsonify(answer)
    if "scroll" in params:
        raise InvalidInputError("scroll", "the blend pages with from and size (or a sort with search_after)")
    return jsonify(_blended(alias, body, hybrid))


@opensearch_rest.route("/_search/scroll", methods=["GET", "POST"])
def scroll() -> Response:
    """The next page of a scroll this API opened for the caller (``scroll_id`` and the keep-alive
    ``scroll`` in the body or as parameters; the keep-alive is 1m unless given)."""
    services = _services()
    asked = {**request.args.to_dict(), **json_object(default={})}
    if unknown := sorted(set(asked) - {"scroll_id", "scroll", "rest_total_hits_as_int"}):
        raise InvalidInputError(unknown[0], "a scroll's page takes scroll_id and scroll")
    scroll_id, keep_alive = asked.get("scroll_id"), asked.get("scroll", "1m")
    if not isinstance(scroll_id, str) or not scroll_id:
        raise InvalidInputError("scroll_id", "must be the _scroll_id of the search that opened the scroll")
    seconds = keep_alive_seconds(keep_alive, "scroll")
    scrolls = _scrolls()
    if not scrolls.holds(scroll_id, _caller()):
        raise NotFoundError(
            "no scroll open for this caller with that scroll_id (expired, or not opened here)", "scroll_id"
        )
    answer = scroll_page(services.opensearch, services.settings.products_alias, scroll_id, keep_alive)
    if answer.get("_scroll_id", scroll_id) != scroll_id:
        scrolls.forget(scroll_id)
    scrolls.issued(answer.get("_scroll_id", scroll_id), _caller(), seconds)
    return jsonify(answer)


@opensearch_rest.delete("/_search/scroll")
def clear_scroll() -> tuple[Response, int]:
    """Close the caller's scrolls among ``scroll_id`` (one id or a list; others' are not touched):
    200 with how many were freed, 404 when none was open, as OpenSearch answers."""
    services = _services()
    asked = {**request.args.to_dict(), **json_object(default={})}
    ids = asked.get("scroll_id")
    ids = ids.split(",") if isinstance(ids, str) else ids
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise InvalidInputError("scroll_id", "must be a scroll id or a list of them")
    scrolls = _scrolls()
    held = [scroll_id for scroll_id in ids if scrolls.holds(scroll_id, _caller())]
    freed = clear_scrolls(services.opensearch, held) if held else 0
    for scroll_id in held:
        scrolls.forget(scroll_id)
    return jsonify({"succeeded": True, "num_freed": freed}), 200 if freed else 404


def _blended(alias: str, body: dict[str, Any], hybrid: Any) -> dict[str, Any]:
    """The blend in OpenSearch's response shape, within the body's own ``query`` (a filter on every
    leg), with its ``aggs`` over the match set (which also gives ``hits.total``) and its ``_source``."""
    if not isinstance(hybrid, dict):
        raise InvalidInputError("ext.hybrid", "must be an object of /search parameters")
    if unknown := sorted(set(body) - BLEND_BODY - SORTED_BODY):
        allowed = ", ".join(sorted(BLEND_BODY | SORTED_BODY))
        raise InvalidInputError(f"body.{unknown[0]}", f"with ext.hybrid: {allowed}")
    if "sort" in hybrid:
        raise InvalidInputError("ext.hybrid.sort", "sort in the body, as OpenSearch reads it")
    if "sort" in body:
        return _sorted(alias, body, hybrid)
    if "search_after" in body:
        raise InvalidInputError("body.search_after", "pages a sort: the blend pages with from and size")
    size = whole(body.get("size", request.args.get("size", 10)), "size")
    start = whole(body.get("from", request.args.get("from", 0)), "from")
    check_page(start, size, "")
    if size and start % size:
        raise InvalidInputError("from", "must be a multiple of size (pages of the fusion window)")
    guarded = guarded_body({k: v for k, v in body.items() if k not in ("size", "from")}, is_admin())
    if "highlight" in guarded and not isinstance(hybrid.get("q"), str):
        raise InvalidInputError("body.highlight", "highlights the words of ext.hybrid.q: give q")
    aggs = guarded.get("aggs", guarded.get("aggregations"))
    storefront = Storefront(where=guarded.get("query"), aggs=aggs, post_filter=guarded.get("post_filter"))
    page = {"size": size, "page": start // size + 1} if size else {"size": 1, "page": 1}  # size 0: the total
    result = search_for_caller({**hybrid, **page}, None, "ext.hybrid.", storefront)
    hits = []
    found = result.hits[:size]
    keys = [doc_id(h.merchant, h.id) if h.merchant else h.id for h in found]
    marked = {}
    if "highlight" in guarded and keys:
        searched = search_service().understanding.schema.current().bm25_fields()
        marked = highlights(_services().opensearch, alias, keys, guarded["highlight"], hybrid["q"], searched)
    for h, key in zip(found, keys, strict=True):
        hit: dict[str, Any] = {"_index": alias, "_id": key, "_score": h.score}
        if (source := select_source(h.product, guarded.get("_source", True))) is not None:
            hit["_source"] = source
        if hit["_id"] in marked:
            hit["highlight"] = marked[hit["_id"]]
        hits.append(hit | ({"_explanation": h.explain} if h.explain is not None else {}))
    return {
        "took": int(result.timings.total),
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": result.total, "relation": "eq"},
            "max_score": hits[0]["_score"] if hits else None,
            "hits": hits,
        },
        **({"aggregations": result.aggregations or {}} if aggs else {}),
        "ext": {"hybrid": {k: v for k, v in result.to_json().items() if k in BLEND_FIELDS}},
    }


def _sorted(alias: str, body: dict[str, Any], hybrid: dict[str, Any]) -> dict[str, Any]:
    """The match set in the body's ``sort`` (relevance breaking ties), paged by from/size or
    ``search_after`` as OpenSearch pages it; ``ext.hybrid`` says what the shopper searched for."""
    guarded = guarded_body(body, is_admin())
    if not isinstance(guarded["sort"], list):
        guarded["sort"] = [guarded["sort"]]
    if any(s == "_score" or (isinstance(s, dict) and "_score" in s) for s in guarded["sort"]):
        raise InvalidInputError("body.sort", "relevance is the blend's: leave sort out for it")
    aggs = guarded.pop("aggs", guarded.pop("aggregations", None))
    storefront = Storefront(guarded.pop("query", None), aggs, guarded.pop("post_filter", None))
    guarded.pop("track_total_hits", None)
    fields = parse_model(SearchRequest, {**hybrid, "size": 1}, "ext.hybrid.")  # checked as /search checks it
    answer, _ = search_service().in_storefront_order(fields, storefront, guarded)
    return answer | {"ext": {"hybrid": {"sorted": True, "personalised": False}}}  # the shopper's order


@opensearch_rest.route("/_msearch", methods=["GET", "POST"])
@opensearch_rest.route("/<index>/_msearch", methods=["GET", "POST"])
def msearch(index: str | None = None) -> Response:
    """Several searches in one request (NDJSON: a header line, then a body line, per search), each
    checked as ``_search`` checks one; one refused body refuses the request, naming it."""
    alias = _alias(index) if index is not None else _services().settings.products_alias
    admin = is_admin()
    lines = [line for line in request.get_data(as_text=True).splitlines() if line.strip()]
    if not lines or len(lines) % 2:
        raise InvalidInputError("body", "_msearch takes pairs of lines: a header, then a search body")
    if len(lines) > 2 * MAX_SEARCHES:
        raise InvalidInputError("body", f"at most {MAX_SEARCHES} searches in one _msearch")
    searches = []
    for n in range(0, len(lines), 2):
        header, body = _json_line(lines[n], f"body[{n}]"), _json_line(lines[n + 1], f"body[{n + 1}]")
        where = f"body[{n + 1}]"
        if set(header) - {"index"} or header.get("index", alias) != alias:
            raise InvalidInputError(f"body[{n}]", f"a header names the index ({alias}) and nothing else")
        if "ext" in body:
            raise InvalidInputError(f"{where}.ext", "the blend (ext.hybrid) runs one search at a time: use _search")
        try:
            searches.append(guarded_body(body, admin))
        except InvalidInputError as exc:
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise InvalidInputError(exc.field.replace("body", where, 1), message) from None
    return jsonify(passthrough_msearch(_services().opensearch, alias, searches))


def _json_line(line: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(where, f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidInputError(where, "must be a JSON object")
    return value


def _scrolls() -> Scrolls:
    services = _services()
    return Scrolls(services.redis, services.settings.products_alias)


def _caller() -> str:
    """Whom a scroll belongs to: the admin, a client, or the anonymous storefront."""
    return "admin" if is_admin() else (caller_client() or "anonymous")


def _hidden() -> list[str]:
    return [] if is_admin() else list(HIDDEN_FIELDS)


def register(app: Flask, alias: str) -> None:
    """The blueprint, and ``HEAD /<alias>`` as a path of its own, ahead of the merchant routes: the
    merchant's ``GET /products`` answers a HEAD of its path too, and would take the clients'
    ``indices.exists`` of an alias named products."""
    endpoint = "opensearch_rest.index_exists"  # its blueprint's: errors in OpenSearch's shape
    app.add_url_rule(f"/{alias}", endpoint, index_exists, methods=["HEAD"], defaults={"index": alias})
    app.register_blueprint(opensearch_rest)

"""GET/POST /search, and POST /<alias>/_search for backends that speak OpenSearch."""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from hybrid_search.api.auth import caller_client, is_admin
from hybrid_search.api.bodies import json_object
from hybrid_search.api.passthrough import check_page, guarded_body, guarded_params, with_search_timeout
from hybrid_search.catalog import FILTER_FIELDS, SearchRequest, doc_id, parse_model, whole
from hybrid_search.errors import InvalidInputError, ServiceUnavailableError, UnauthorisedError
from hybrid_search.opensearch.search import passthrough_search
from hybrid_search.query_log import QueryLog
from hybrid_search.search import SearchService

search = Blueprint("search", __name__)
_lock = threading.Lock()


def search_service() -> SearchService:
    """Built on first use and kept for the life of the process (it holds the query encoders)."""
    with _lock:
        service = current_app.extensions.get("hybrid_search.search")
        if service is None:
            service = current_app.extensions["hybrid_search.search_factory"]()
            current_app.extensions["hybrid_search.search"] = service
    return service


def request_fields() -> tuple[dict[str, Any], bytes | None]:
    """Search parameters from the query string, a JSON body, or a multipart form with a ``photo``."""
    photo = None
    if request.method == "GET":
        data: dict[str, Any] = {k: request.args.getlist(k) for k in request.args}
    elif request.mimetype == "multipart/form-data":
        data = {k: request.form.getlist(k) for k in request.form}
        upload = request.files.get("photo")
        if upload is not None and upload.filename != "":  # a form's file input left empty sends no name
            photo = upload.read()
            if not photo:
                raise InvalidInputError("photo", "empty file")
    else:
        data = dict(json_object())
    if "merchant" in data:
        data["merchant_id"] = data.pop("merchant")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key in FILTER_FIELDS:  # repeated, or comma separated: any of the values
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                raise InvalidInputError(key, "must be a string or a list of strings")
            value = [part.strip() for v in values for part in v.split(",") if part.strip()]
        elif request.method == "GET" or request.mimetype == "multipart/form-data":  # the last one wins
            value = value[-1] if value else None
        fields[key] = value
    return fields, photo


def search_for_caller(fields: dict[str, Any], photo: bytes | None, prefix: str = "") -> dict[str, Any]:
    """Run a search for the caller: a user's personalisation belongs to the client (tenant) whose
    key sent it, so ``user_id`` needs a client key."""
    parsed = parse_model(SearchRequest, fields, prefix)
    client = caller_client()
    if parsed.user_id and client is None:
        raise UnauthorisedError(f"{prefix}user_id: personalised search needs a client X-API-Key")
    result = search_service().search(parsed, photo, client)
    settings = current_app.extensions["hybrid_search"].settings
    if parsed.q and settings.query_log_ttl_s:
        log = QueryLog(current_app.extensions["hybrid_search"].redis, settings.products_alias, settings.query_log_ttl_s)
        try:
            log.record(result["query_id"], parsed.q)
        except ServiceUnavailableError as exc:  # the search still serves; its clicks will not be judged
            result.setdefault("degraded", {})["query_log"] = str(exc)
    return result


@search.route("/search", methods=["GET", "POST"])
def run_search() -> Response:
    fields, photo = request_fields()
    return jsonify(search_for_caller(fields, photo))


@search.route("/<index>/_search", methods=["GET", "POST"])
def opensearch_search(index: str) -> Response:
    """A read-only search of the live products alias for backends that speak OpenSearch: plain
    query DSL within the allow-list (``passthrough.py``), or ``ext.hybrid`` (our /search
    parameters) for the blend in OpenSearch's response shape. Needs a client key unless
    ``anonymous_passthrough``; the admin key also sees internal fields and vectors."""
    services = current_app.extensions["hybrid_search"]
    alias = services.settings.products_alias
    admin = is_admin()
    if not admin and caller_client() is None and not services.settings.anonymous_passthrough:
        raise UnauthorisedError("the passthrough needs a client X-API-Key")
    if index != alias:
        raise InvalidInputError("index", f"only the live {alias} alias can be searched here (one name, no patterns)")
    body = json_object(default={})
    ext = body.pop("ext", None)
    hybrid = ext.get("hybrid") if isinstance(ext, dict) else None
    if ext is not None and (not isinstance(ext, dict) or set(ext) != {"hybrid"}):
        raise InvalidInputError("body.ext", "only ext.hybrid (the /search parameters) is accepted")
    if hybrid is None:
        guarded, params = with_search_timeout(guarded_body(body, admin), guarded_params(request.args.to_dict()))
        return jsonify(passthrough_search(services.opensearch, alias, guarded, params))
    if not isinstance(hybrid, dict):
        raise InvalidInputError("ext.hybrid", "must be an object of /search parameters")
    if set(body) - {"size", "from"}:
        raise InvalidInputError(f"body.{sorted(set(body) - {'size', 'from'})[0]}", "with ext.hybrid: size and from")
    size = whole(body.get("size", request.args.get("size", 10)), "size")
    start = whole(body.get("from", request.args.get("from", 0)), "from")
    check_page(start, size, "")
    if size < 1 or start % size:
        raise InvalidInputError("from", "must be a multiple of size (pages of the fusion window)")
    fields = {**hybrid, "size": size, "page": start // size + 1}
    result = search_for_caller(fields, None, "ext.hybrid.")
    hits = [
        {
            "_index": alias,
            "_id": doc_id(h["merchant"], h["id"]) if h["merchant"] else h["id"],
            "_score": h["score"],
            "_source": h["product"],
            **({"_explanation": h["explain"]} if "explain" in h else {}),
        }
        for h in result["hits"]
    ]
    return jsonify(
        {
            "took": int(result["timings_ms"]["total"]),
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": result["total"], "relation": "eq"},
                "max_score": hits[0]["_score"] if hits else None,
                "hits": hits,
            },
            "ext": {
                "hybrid": {
                    k: result[k] for k in ("query_id", "profile", "engine", "legs", "timings_ms", "personalised")
                }
            },
        }
    )

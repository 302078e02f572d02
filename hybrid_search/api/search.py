"""GET/POST /search, and POST /<alias>/_search for backends that speak OpenSearch."""

from __future__ import annotations

import json
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from hybrid_search.catalog import FILTER_FIELDS, SearchRequest, parse_model
from hybrid_search.errors import InvalidInputError
from hybrid_search.opensearch.search import passthrough_search
from hybrid_search.search import SearchService

search = Blueprint("search", __name__)
_lock = threading.Lock()
PASSTHROUGH_PARAMS = {
    "from",
    "size",
    "timeout",
    "track_total_hits",
    "explain",
    "_source",
    "_source_includes",
    "_source_excludes",
    "sort",
    "q",
    "default_operator",
    "search_type",
    "request_cache",
    "routing",
    "preference",
    "allow_partial_search_results",
    "rest_total_hits_as_int",
    "typed_keys",
    "filter_path",
}


def search_service() -> SearchService:
    """Built on first use and kept for the life of the process (it holds the query encoders)."""
    with _lock:
        service = current_app.extensions.get("hybrid_search.search")
        if service is None:
            service = current_app.extensions["hybrid_search.search_factory"]()
            current_app.extensions["hybrid_search.search"] = service
    return service


def _request_fields() -> tuple[dict[str, Any], bytes | None]:
    """Search parameters from the query string, a JSON body, or a multipart form with a ``photo``."""
    photo = None
    if request.method == "GET":
        data: dict[str, Any] = {k: request.args.getlist(k) for k in request.args}
    elif request.mimetype == "multipart/form-data":
        data = {k: request.form.getlist(k) for k in request.form}
        upload = request.files.get("photo")
        if upload is not None:
            photo = upload.read()
            if not photo:
                raise InvalidInputError("photo", "empty file")
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInputError("body", "must be a JSON object")
        data = dict(body)
    if "merchant" in data:
        data["merchant_id"] = data.pop("merchant")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key in FILTER_FIELDS:  # repeated, or comma separated: any of the values
            values = value if isinstance(value, list) else [value]
            value = [part.strip() for v in values for part in str(v).split(",") if part.strip()]
        elif request.method == "GET" or request.mimetype == "multipart/form-data":  # the last one wins
            value = value[-1] if value else None
        fields[key] = value
    if "explain" in fields and isinstance(fields["explain"], str):
        fields["explain"] = fields["explain"].lower() in ("1", "true", "yes")
    return fields, photo


@search.route("/search", methods=["GET", "POST"])
def run_search() -> Response:
    fields, photo = _request_fields()
    return jsonify(search_service().search(parse_model(SearchRequest, fields), photo))


@search.route("/<index>/_search", methods=["GET", "POST"])
def opensearch_search(index: str) -> Response:
    """Plain query DSL is forwarded unchanged; ``ext.hybrid`` (our /search parameters) turns on the blend."""
    services = current_app.extensions["hybrid_search"]
    alias = services.settings.products_alias
    if index != alias and not index.startswith(f"{alias}-"):
        raise InvalidInputError("index", f"only {alias} (and its versioned indices) can be searched here")
    raw = request.get_data(as_text=True)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidInputError("body", f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise InvalidInputError("body", "must be a JSON object")
    hybrid = body.get("ext", {}).get("hybrid") if isinstance(body.get("ext"), dict) else None
    if hybrid is None:
        params = {k: v for k, v in request.args.items() if k in PASSTHROUGH_PARAMS}
        return jsonify(passthrough_search(services.opensearch, index, body, params))
    if not isinstance(hybrid, dict):
        raise InvalidInputError("ext.hybrid", "must be an object of /search parameters")
    size = _whole(body.get("size", request.args.get("size", 10)), "size")
    start = _whole(body.get("from", request.args.get("from", 0)), "from")
    if size < 1 or start < 0 or start % size:
        raise InvalidInputError("from", "must be a multiple of size (pages of the fusion window)")
    fields = {**hybrid, "size": size, "page": start // size + 1}
    result = search_service().search(parse_model(SearchRequest, fields, "ext.hybrid."))
    hits = [
        {
            "_index": alias,
            "_id": h["id"],
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


def _whole(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInputError(field, "must be a whole number") from None

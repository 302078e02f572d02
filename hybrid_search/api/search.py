"""GET/POST /search: our search API (the OpenSearch-shaped one is ``opensearch_rest.py``)."""

from __future__ import annotations

import re
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from hybrid_search.api.auth import caller_client
from hybrid_search.api.bodies import json_object
from hybrid_search.core.catalog import FILTER_FIELDS, SearchRequest, parse_model
from hybrid_search.core.errors import InvalidInputError, ServiceUnavailableError, UnauthorisedError
from hybrid_search.querying.response import SearchResult
from hybrid_search.querying.service import SearchService
from hybrid_search.querying.storefront import Storefront
from hybrid_search.stores.redis.query_log import QueryLog

search = Blueprint("search", __name__)
_lock = threading.Lock()

FILTER_PARAMETER = re.compile(r"filter\[([^\]]{1,64})\]")


def search_service() -> SearchService:
    """Built on first use and kept for the life of the process (it holds the query encoders)."""
    with _lock:
        service = current_app.extensions.get("hybrid_search.querying.service")
        if service is None:
            service = current_app.extensions["hybrid_search.search_factory"]()
            current_app.extensions["hybrid_search.querying.service"] = service
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
        if named := FILTER_PARAMETER.fullmatch(key):  # filter[<field>]=a,b or lo..hi
            fields.setdefault("filter", {})[named.group(1)] = _values(key, value)
        elif key == "filter" and isinstance(value, dict):  # a JSON body's {"filter": {"<field>": ...}}
            fields["filter"] = {name: _values(f"filter[{name}]", v) for name, v in value.items()}
        elif key in (*FILTER_FIELDS, "facets", "sort"):  # repeated, or comma separated: any of the values
            fields[key] = _values(key, value)
        elif request.method == "GET" or request.mimetype == "multipart/form-data":  # the last one wins
            fields[key] = value[-1] if value else None
        else:
            fields[key] = value
    return fields, photo


def _values(key: str, value: Any) -> list[str]:
    """A parameter's values: repeated, or comma separated."""
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise InvalidInputError(key, "must be a string or a list of strings")
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def search_for_caller(
    fields: dict[str, Any], photo: bytes | None, prefix: str = "", storefront: Storefront | None = None
) -> SearchResult:
    """Run a search for the caller (within a ``storefront``'s query, its match set counted): a user's
    personalisation belongs to the client (tenant) whose key sent it, so ``user_id`` needs a client key."""
    parsed = parse_model(SearchRequest, fields, prefix)
    client = caller_client()
    if parsed.user_id and client is None:
        raise UnauthorisedError(f"{prefix}user_id: personalised search needs a client X-API-Key")
    result = search_service().search(parsed, photo, client, storefront)
    settings = current_app.extensions["hybrid_search"].settings
    if parsed.q and settings.query_log_ttl_s:
        log = QueryLog(current_app.extensions["hybrid_search"].redis, settings.products_alias, settings.query_log_ttl_s)
        try:
            log.record(result.query_id, parsed.q)
        except ServiceUnavailableError as exc:  # the search still serves; its clicks will not be judged
            result.degraded["query_log"] = str(exc)
    return result


@search.route("/search", methods=["GET", "POST"])
def run_search() -> Response:
    fields, photo = request_fields()
    result = search_for_caller(fields, photo).to_json()
    for hit in result["hits"]:  # where a storefront's page gets the product's photo
        if digest := hit["product"].get("image_hash"):
            hit["photo_url"] = url_for("photos.photo", digest=digest)
    return jsonify(result)

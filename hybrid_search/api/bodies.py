"""Request bodies: a size limit per endpoint and JSON parsed with a nesting limit; every failure is
a 4xx naming the field."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, request

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import MAX_PHOTO_BYTES

MAX_DEPTH = 32  # deeper than any product, event, profile or search body needs
MAX_JSON_BYTES = 1024 * 1024
MAX_SEARCH_BYTES = MAX_PHOTO_BYTES + MAX_JSON_BYTES  # a search photo and the rest of its form


def parse_json(text: str | bytes, field: str = "body") -> Any:
    """``text`` as JSON, at most MAX_DEPTH containers deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidInputError(field, f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise InvalidInputError(field, f"not valid JSON ({exc})") from None
    check_depth(value, field)
    return value


def check_depth(value: Any, field: str) -> None:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidInputError(field, f"nested more than {MAX_DEPTH} levels deep")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def json_body(field: str = "body", default: Any = None) -> Any:
    """The request's JSON body (``default`` when it is empty)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if default is None:
            raise InvalidInputError(field, "a JSON body is required")
        return default
    return parse_json(raw, field)


def json_object(field: str = "body", default: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json_body(field, default)
    if not isinstance(body, dict):
        raise InvalidInputError(field, "must be a JSON object")
    return body


def limit_body_sizes(app: Flask) -> None:
    """Uploads may be large (``max_upload_bytes``, merchants only); a search its photo plus 1 MB;
    every other body 1 MB. Werkzeug answers 413 before reading past the limit."""

    @app.before_request
    def _limit() -> None:
        if request.endpoint == "products.upload_products":
            limit = current_app.extensions["hybrid_search"].settings.max_upload_bytes
        elif request.endpoint == "search.run_search":
            limit = MAX_SEARCH_BYTES
        else:
            limit = MAX_JSON_BYTES
        request.max_content_length = limit

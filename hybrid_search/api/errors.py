"""Our errors to HTTP, in one ordered table; every error body is {"error": code, "message": ...}, or
OpenSearch's shape on the routes that stand in for its REST API (``opensearch_rest.py``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hybrid_search.core.errors import (
    BackendError,
    ConflictError,
    ForbiddenError,
    HybridSearchError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorisedError,
)

log = logging.getLogger(__name__)

# First match wins, so subclasses come before their bases.
STATUS_BY_ERROR: tuple[tuple[type[HybridSearchError], int], ...] = (
    (InvalidInputError, 400),
    (UnauthorisedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (RateLimitedError, 429),
    (ServiceUnavailableError, 503),
    (BackendError, 502),
    (HybridSearchError, 500),
)


def status_for(error: HybridSearchError) -> int:
    return next(status for kind, status in STATUS_BY_ERROR if isinstance(error, kind))


def error_response(error: HybridSearchError) -> tuple[Response, int]:
    body = {"error": error.code, "message": str(error)}
    if isinstance(error, InvalidInputError | NotFoundError) and error.field:
        body["field"] = error.field
    return _respond(error, body)


def opensearch_error_response(error: HybridSearchError) -> tuple[Response, int]:
    """The same error in OpenSearch's shape, for the routes that stand in for its REST API: clients
    raise their own exception with our code as its type and our message (the field first) as its reason."""
    body = opensearch_error(error.code, str(error), status_for(error))
    if isinstance(error, InvalidInputError | NotFoundError) and error.field:
        body["error"]["field"] = error.field  # beside type and reason, as OpenSearch names an index
    return _respond(error, body)


def opensearch_error(kind: str, reason: str, status: int) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def _respond(error: HybridSearchError, body: dict[str, Any]) -> tuple[Response, int]:
    status = status_for(error)
    response = jsonify(body)
    if isinstance(error, ServiceUnavailableError | RateLimitedError):
        response.headers["Retry-After"] = str(error.retry_after_s)
    if status >= 500:
        log.warning("%s: %s", error.code, error, exc_info=error)
    return response, status


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HybridSearchError, error_response)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "message": error.description}), error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return jsonify({"error": "internal_error", "message": "internal error"}), 500

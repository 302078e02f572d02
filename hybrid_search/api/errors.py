"""Our errors to HTTP, in one ordered table; every error body is {"error": code, "message": ...}."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hybrid_search.errors import (
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
    status = status_for(error)
    body = {"error": error.code, "message": str(error)}
    if isinstance(error, InvalidInputError | NotFoundError) and error.field:
        body["field"] = error.field
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

"""GET /health: is every service this API needs answering?"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.api.search import search_service
from hybrid_search.core.errors import HybridSearchError
from hybrid_search.stores.opensearch.client import cluster_health
from hybrid_search.stores.redis.client import ping
from hybrid_search.stores.services import Services

health = Blueprint("health", __name__)


@health.get("/health")
def get_health() -> tuple[Response, int]:
    ok, checks = health_checks()
    response = jsonify({"status": "ok" if ok else "unavailable", **checks})
    if not ok:
        response.headers["Retry-After"] = "5"
    return response, 200 if ok else 503


def health_checks() -> tuple[bool, dict[str, object]]:
    """Whether OpenSearch and Redis answer, and each one's check (with the models, when OpenSearch does)."""
    services: Services = current_app.extensions["hybrid_search"]
    checks: dict[str, object] = {}
    try:
        checks["opensearch"] = cluster_health(services.opensearch)
        opensearch_ok = checks["opensearch"]["status"] in {"green", "yellow"}
    except HybridSearchError as exc:
        checks["opensearch"] = {"error": exc.code, "message": str(exc)}
        opensearch_ok = False
    redis_ok, checks["redis"] = ping(services.redis)
    if opensearch_ok:
        checks["models"] = _models()
    return opensearch_ok and redis_ok, checks


def _models() -> dict[str, object]:
    """The index the alias points at and the models it records, the models this process encodes queries
    with (the record's, unless an override is set), and a warning where the two differ."""
    try:
        return search_service().models.state()
    except HybridSearchError as exc:
        return {"error": exc.code, "message": str(exc)}

"""GET /health: is every service this API needs answering?"""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.errors import HybridSearchError
from hybrid_search.opensearch.client import cluster_health
from hybrid_search.opensearch.products import sample_model_version
from hybrid_search.pipeline import differing_models, model_version
from hybrid_search.services import Services

health = Blueprint("health", __name__)


@health.get("/health")
def get_health() -> tuple[Response, int]:
    services: Services = current_app.extensions["hybrid_search"]
    checks: dict[str, object] = {}
    try:
        checks["opensearch"] = cluster_health(services.opensearch)
        opensearch_ok = checks["opensearch"]["status"] in {"green", "yellow"}
    except HybridSearchError as exc:
        checks["opensearch"] = {"error": exc.code, "message": str(exc)}
        opensearch_ok = False
    try:
        redis_ok = bool(services.redis.ping())
        checks["redis"] = {"ping": redis_ok}
    except redis.RedisError as exc:
        checks["redis"] = {"error": "service_unavailable", "message": str(exc)}
        redis_ok = False
    if opensearch_ok:
        checks["models"] = _models(services)
    ok = opensearch_ok and redis_ok
    response = jsonify({"status": "ok" if ok else "unavailable", **checks})
    if not ok:
        response.headers["Retry-After"] = "5"
    return response, 200 if ok else 503


def _models(services: Services) -> dict[str, object]:
    """The model version queries are encoded with, the one the products behind the alias were
    embedded with, and a warning when they differ (the legs using those models would rank by
    vectors from two different spaces: set the same HYBRID_SEARCH_* models for API and workers)."""
    queries = model_version(services.settings)
    try:
        index = sample_model_version(services.opensearch, services.settings.products_alias)
    except HybridSearchError:  # no alias yet
        index = None
    models: dict[str, object] = {"queries": queries, "index": index}
    if index is not None and (differ := differing_models(index, queries)):
        models["warning"] = f"the index was embedded with another {', '.join(differ)} than queries are encoded with"
    return models

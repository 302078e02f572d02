from hybrid_search.api import create_app
from hybrid_search.api.errors import STATUS_BY_ERROR, status_for
from hybrid_search.core.errors import (
    BackendError,
    ConflictError,
    HybridSearchError,
    InvalidInputError,
    LocalServiceError,
    NotFoundError,
    ServiceUnavailableError,
)
from hybrid_search.core.settings import Settings
from hybrid_search.stores.services import Services


def test_every_error_maps_to_its_status():
    assert status_for(InvalidInputError("q", "empty")) == 400
    assert status_for(NotFoundError("x")) == 404
    assert status_for(ConflictError("x")) == 409
    assert status_for(ServiceUnavailableError("x")) == 503
    assert status_for(BackendError("x")) == 502
    assert status_for(LocalServiceError("x")) == 500


def test_table_lists_subclasses_before_their_bases():
    kinds = [kind for kind, _ in STATUS_BY_ERROR]
    for i, kind in enumerate(kinds):
        assert not any(issubclass(later, kind) and later is not kind for later in kinds[i + 1 :])
    assert kinds[-1] is HybridSearchError


def _app_with_closed_ports():
    settings = Settings(opensearch_url="http://127.0.0.1:9", redis_url="redis://127.0.0.1:9/0", opensearch_timeout_s=1)
    return create_app(services=Services.from_settings(settings))


def test_health_is_503_with_retry_after_when_services_are_down():
    response = _app_with_closed_ports().test_client().get("/health")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["opensearch"]["error"] == "service_unavailable"
    assert "error" in body["redis"]


def test_unknown_route_is_a_json_404():
    response = _app_with_closed_ports().test_client().get("/nope")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"

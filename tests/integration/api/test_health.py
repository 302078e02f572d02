from hybrid_search.api import create_app


def test_health_reports_both_services_and_the_lucene_engine(services):
    response = create_app(services=services).test_client().get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["opensearch"]["status"] in {"green", "yellow"}
    assert body["opensearch"]["nodes"] == 1
    assert body["redis"] == {"ping": True}

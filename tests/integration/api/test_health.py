from hybrid_search.api import create_app
from hybrid_search.opensearch.indices import ensure_indices
from hybrid_search.pipeline import model_version


def test_health_reports_both_services_and_the_lucene_engine(services):
    response = create_app(services=services).test_client().get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["opensearch"]["status"] in {"green", "yellow"}
    assert body["opensearch"]["nodes"] == 1
    assert body["redis"] == {"ping": True}
    assert body["opensearch"]["plugins"] == {"opensearch-knn": "2.19.1.0", "opensearch-neural-search": "2.19.1.0"}
    assert body["opensearch"]["hybrid_query"] is True


def test_health_warns_when_the_index_was_embedded_by_other_models(services, client, cleanup):
    settings = services.settings
    app = create_app(services=services).test_client()
    assert app.get("/health").get_json()["models"] == {"queries": model_version(settings), "index": None}
    ensure_indices(client, settings, model_version(settings))
    other = model_version(settings).rsplit("+", 1)[0] + "+fusion-other"
    client.index(index=settings.products_alias, id="p", body={"status": "ready", "model_version": other}, refresh=True)
    models = app.get("/health").get_json()["models"]
    assert models["index"] == other and models["warning"].startswith("the index was embedded with another fusion ")

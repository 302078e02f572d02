from hybrid_search.api import create_app
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.services import Services


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


def test_health_shows_the_models_the_index_records_and_an_override(services, client, cleanup, tmp_path):
    settings = services.settings
    assert create_app(services=services).test_client().get("/health").get_json()["models"]["index"] is None
    index = ensure_indices(client, settings, ModelSet.from_settings(settings))[settings.products_alias]
    models = create_app(services=services).test_client().get("/health").get_json()["models"]
    assert models["index"] == index and models["recorded"] == models["queries"]
    assert models["recorded"]["fusion"] == {
        "version": ModelSet.from_settings(settings).fusion_version,
        "artifact": None,
    }
    assert "warning" not in models

    forced = Services.from_settings(settings.model_copy(update={"fusion_model": tmp_path / "fusion-forced.pt"}))
    models = create_app(services=forced).test_client().get("/health").get_json()["models"]
    assert models["queries"]["fusion"]["version"] == "fusion-forced"
    assert models["warning"].startswith(f"queries use another fusion than {index} records")

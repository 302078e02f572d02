from pathlib import Path

import pytest
from pydantic import ValidationError

from hybrid_search.core.settings import Settings


def test_defaults_point_at_the_local_services():
    settings = Settings()
    assert settings.opensearch_port == 9200
    assert settings.redis_port == 6390
    assert settings.vector_dims() == {
        "text_vector": 384,
        "image_vector": 1280,
        "behaviour_vector": 64,
        "fused_vector": 256,
    }


def test_environment_overrides_with_prefix(monkeypatch):
    monkeypatch.setenv("HYBRID_SEARCH_OPENSEARCH_URL", "http://127.0.0.1:9333")
    monkeypatch.setenv("HYBRID_SEARCH_TEXT_DIM", "768")
    monkeypatch.setenv("HYBRID_SEARCH_DATA_DIR", "/srv/hs")
    settings = Settings()
    assert settings.opensearch_port == 9333
    assert settings.text_dim == 768
    assert settings.data_dir == Path("/srv/hs")


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.text_dim = 12


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("products_alias", "Products"),
        ("products_alias", "-x"),
        ("embed_batch_size", 0),
        ("opensearch_url", "localhost"),
        ("local_opensearch_heap", "2 GB"),
        ("text_dim", 0),
        ("client_keys", {"k": "shop\x1fother"}),
        ("client_keys", {"": "shop"}),
        ("merchant_keys", {"k": "acme/eu"}),  # "/" splits a document id into merchant and product
        ("merchant_keys", {"": "acme"}),
        ("opensearch_hosts", "https://n1:9200,n2:9200"),
        ("opensearch_hosts", "https://app:pw@n1:9200"),  # credentials have settings of their own
    ],
)
def test_invalid_values_are_rejected_naming_the_field(field, value):
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("products", "events"),
    [("shop", "shop-events"), ("shop-events-eu", "shop-events"), ("shop", "shop")],
)
def test_aliases_whose_index_families_overlap_are_refused_naming_both(products, events):
    """``<alias>-*`` is each alias's family under its own template: OpenSearch refuses two templates
    that would both match a new index (it did, after the products index was already created)."""
    with pytest.raises(ValidationError, match="events_alias .* products_alias"):
        Settings(products_alias=products, events_alias=events)


def test_an_events_alias_beside_the_products_alias_is_fine():
    assert Settings(products_alias="shop", events_alias="shop_events").events_alias == "shop_events"
    assert Settings(products_alias="shop", events_alias="shopevents").events_alias == "shopevents"


def test_the_cluster_is_several_hosts_from_a_comma_separated_list(monkeypatch):
    assert Settings().opensearch_endpoints == ("http://127.0.0.1:9200",)  # opensearch_url alone
    monkeypatch.setenv("HYBRID_SEARCH_OPENSEARCH_HOSTS", "https://n1:9200, https://n2:9200,")
    assert Settings().opensearch_endpoints == ("https://n1:9200", "https://n2:9200")


@pytest.mark.parametrize(
    "credentials",
    [
        {"opensearch_user": "app"},
        {"opensearch_password": "pw"},
        {"opensearch_user": "app", "opensearch_password": "pw", "opensearch_password_file": "/run/secrets/pw"},
        {"opensearch_user": "app", "opensearch_password": "pw", "opensearch_aws_region": "eu-west-1"},
    ],
)
def test_one_way_to_authenticate_and_no_password_in_the_error(credentials):
    with pytest.raises(ValidationError) as info:
        Settings(**credentials)
    assert "pw" not in str(info.value).replace("password", "")


def test_a_password_never_prints():
    settings = Settings(opensearch_user="app", opensearch_password="hunter2")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_unknown_setting_is_an_error():
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)


def test_blend_engine_defaults_to_the_in_process_blend_and_takes_only_the_two_engines(monkeypatch):
    assert Settings().blend_engine == "msearch"
    monkeypatch.setenv("HYBRID_SEARCH_BLEND_ENGINE", "opensearch-hybrid")
    assert Settings().blend_engine == "opensearch-hybrid"
    monkeypatch.setenv("HYBRID_SEARCH_BLEND_ENGINE", "faiss")
    with pytest.raises(ValidationError, match="blend_engine"):
        Settings()

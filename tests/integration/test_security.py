"""The OpenSearch security plugin for real: a local node started secure (TLS from a CA of our own, the
plugin's internal users), the application's least-privileged user, and what our API answers when
OpenSearch refuses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hybrid_search.api import create_app
from hybrid_search.core.errors import ServiceUnavailableError
from hybrid_search.core.settings import Settings
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch
from hybrid_search.local.security import ADMIN_USER, APP_USER
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import OpenSearchClient, cluster_health, make_client, translated_errors
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.services import Services
from tests.net import free_port

PRODUCTS, EVENTS = "tsec-products", "tsec-events"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOpenSearch]:
    config = LocalNodeConfig(
        node_dir=tmp_path_factory.mktemp("secure") / "opensearch",
        http_port=free_port(),
        transport_port=free_port(),
        heap="512m",
        secure=True,
        app_index_patterns=(f"{PRODUCTS}*", f"{EVENTS}*"),
    )
    secure = LocalOpenSearch(Settings().cache_dir, config)
    secure.start(timeout_s=300)
    yield secure
    secure.stop()


def settings_for(node: LocalOpenSearch, service_urls: dict[str, str], user: str | None, **auth: object) -> Settings:
    files = node.config.secure_files
    password = {"opensearch_password_file": files.app_password if user == APP_USER else files.admin_password}
    return Settings(
        redis_url=service_urls["redis_url"],
        opensearch_hosts=(node.config.url,),
        opensearch_ca_file=files.ca,
        products_alias=PRODUCTS,
        events_alias=EVENTS,
        text_dim=4,
        image_dim=3,
        behaviour_dim=2,
        fused_dim=3,
        **({"opensearch_user": user, **(auth or password)} if user else {}),
    )


@pytest.fixture(scope="module")
def app(node, service_urls) -> OpenSearchClient:
    return make_client(settings_for(node, service_urls, APP_USER))


def test_the_node_answers_https_with_our_ca_and_no_one_without_a_password(node, service_urls):
    assert node.config.url.startswith("https://") and node.plugins()["opensearch-security"] == "2.19.1.0"
    anonymous = make_client(settings_for(node, service_urls, None))
    with pytest.raises(ServiceUnavailableError, match="refused our credentials"):
        cluster_health(anonymous)
    plain = make_client(Settings(opensearch_url=node.config.url.replace("https", "http"), opensearch_timeout_s=5))
    with pytest.raises(ServiceUnavailableError):
        cluster_health(plain)


def test_the_applications_user_builds_writes_and_searches_its_own_indices(node, service_urls, app):
    settings = settings_for(node, service_urls, APP_USER)
    aliases = ensure_indices(app, settings, ModelSet.from_settings(settings))
    assert set(aliases) == {PRODUCTS, EVENTS}
    product = {"product_id": "p1", "merchant_id": "m", "title": "Black Leather Belt", "status": "ready"}
    app.index(index=PRODUCTS, id="m/p1", body=product, refresh=True)
    hits = app.search(index=PRODUCTS, body={"query": {"match": {"title": "belt"}}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["m/p1"]
    assert cluster_health(app)["plugins"]["opensearch-security"] == "2.19.1.0"


def test_it_can_neither_read_nor_write_another_index_nor_the_security_index(node, service_urls, app):
    admin = make_client(settings_for(node, service_urls, ADMIN_USER))
    admin.index(index="another-shop", id="1", body={"title": "secret"}, refresh=True)
    for what, call in (
        ("reading another index", lambda: app.search(index="another-shop")),
        ("writing another index", lambda: app.index(index="another-shop", id="2", body={"title": "x"})),
        ("creating one", lambda: app.indices.create(index="elsewhere")),
        ("reading the security index", lambda: app.search(index=".opendistro_security")),
    ):
        with pytest.raises(ServiceUnavailableError, match="denied our user"), translated_errors(what):
            call()
    assert admin.count(index="another-shop")["count"] == 1


def test_a_wrong_password_is_a_503_from_our_api_that_shows_no_secret(node, service_urls):
    settings = settings_for(node, service_urls, APP_USER, opensearch_password="not-the-password-1")
    response = create_app(services=Services.from_settings(settings)).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "refused our credentials" in body
    assert "not-the-password-1" not in body and node.config.secure_files.app_password.read_text().strip() not in body

"""One real OpenSearch node and one real Redis for the whole session; each test gets its own indices.

Set HYBRID_SEARCH_TEST_OPENSEARCH_URL and HYBRID_SEARCH_TEST_REDIS_URL to reuse running services;
otherwise both are started here on free loopback ports and stopped at the end.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest

from hybrid_search.core.settings import Settings
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch
from hybrid_search.local.redis import LocalRedis
from hybrid_search.stores.opensearch.client import OpenSearchClient, make_client
from hybrid_search.stores.services import Services
from tests.integration.catalogs import load_test_catalog
from tests.integration.cleanup import drop_test_indices
from tests.net import free_port


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    given = {
        "opensearch_url": os.environ.get("HYBRID_SEARCH_TEST_OPENSEARCH_URL"),
        "redis_url": os.environ.get("HYBRID_SEARCH_TEST_REDIS_URL"),
    }
    if all(given.values()):
        yield given
        return
    base = tmp_path_factory.mktemp("services")
    rds = LocalRedis(base / "redis", free_port())
    http_port = free_port()
    node = LocalOpenSearch(
        Settings().cache_dir,
        LocalNodeConfig(node_dir=base / "opensearch", http_port=http_port, transport_port=free_port(), heap="1g"),
    )
    try:
        rds.start()
        node.start(timeout_s=300)
        yield {"opensearch_url": node.config.url, "redis_url": f"redis://127.0.0.1:{rds.port}/0"}
    finally:
        node.stop()
        rds.stop()


@pytest.fixture
def settings(service_urls: dict[str, str]) -> Settings:
    """Settings with this test's own aliases and small vectors that are easy to reason about."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    return Settings(
        **service_urls,
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        text_dim=4,
        image_dim=3,
        behaviour_dim=2,
        fused_dim=3,
    )


@pytest.fixture(scope="session")
def client(service_urls: dict[str, str]) -> OpenSearchClient:
    return make_client(Settings(**service_urls))


@pytest.fixture
def services(settings: Settings) -> Services:
    return Services.from_settings(settings)


@pytest.fixture
def cleanup(client: OpenSearchClient, settings: Settings) -> Iterator[None]:
    """Deletes this test's indices and templates afterwards."""
    yield
    drop_test_indices(client, settings)


# Real fashion products embedded by the real pipeline, shared by the search and relevance tests.
@pytest.fixture(scope="session")
def search_settings(service_urls, tmp_path_factory) -> Settings:
    prefix = f"s{uuid.uuid4().hex[:8]}"
    return Settings(
        **service_urls,
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("search"),
        device="cpu",
    )


@pytest.fixture(scope="session")
def catalog(search_settings):
    """~240 real products of six article types (a third with photos), embedded by the real pipeline."""
    client = make_client(search_settings)
    yield load_test_catalog(client, search_settings)
    drop_test_indices(client, search_settings)


@pytest.fixture(scope="session")
def judgments(search_settings, catalog):
    """Queries of three kinds over the test catalog, judged the way the shared data is: grade 2 for the
    right type and colour, 1 for the right type only. Written under the judgments folder."""
    folder = search_settings.judgments_root
    folder.mkdir(parents=True, exist_ok=True)
    asks = [
        ("keyword", "black backpack", "Backpacks", "Black"),
        ("keyword", "white sports shoes", "Sports Shoes", "White"),
        ("keyword", "black watch", "Watches", "Black"),
        ("synonym", "black rucksack", "Backpacks", "Black"),
        ("synonym", "white running sneakers", "Sports Shoes", "White"),
        ("chinese", "黑色双肩包", "Backpacks", "Black"),
        ("chinese", "黑色手表", "Watches", "Black"),
        ("chinese", "白色运动鞋", "Sports Shoes", "White"),
    ]
    queries, qrels = [], []
    for i, (kind, text, article_type, colour) in enumerate(asks):
        qid = f"t{i}"
        queries.append({"id": qid, "kind": kind, "text": text})
        for pid, row in catalog.items():
            if row["article_type"] == article_type:
                qrels.append(f"{qid}\t{pid}\t{2 if row['colour'] == colour else 1}")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries) + "\n")
    (folder / "qrels.tsv").write_text("\n".join(qrels) + "\n")
    return folder / "queries.jsonl", folder / "qrels.tsv"

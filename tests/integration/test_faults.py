"""Outages of the real services during ingestion: OpenSearch or Redis killed (SIGKILL) and restarted
while a real worker embeds an upload, and a catalog shard that cannot be read; and during search. Every product ends
``ready``, none missing, none duplicated, within the retry schedule: far below the reconciler's
``stale_pending_after_s`` (600 s), which these workers do not even run (``--no-beat``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hybrid_search.api import create_app
from hybrid_search.core.catalog import doc_id, parse_products
from hybrid_search.core.errors import ServiceUnavailableError
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.embedding import embed_products
from hybrid_search.indexing.ingest import submit_products
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch
from hybrid_search.local.redis import LocalRedis
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.queue import enqueue_embedding, make_celery
from hybrid_search.stores.opensearch.client import OpenSearchClient, make_client
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.products import get_products, refresh, status_counts
from hybrid_search.stores.services import Services
from tests.integration.processes import Worker, worker_env
from tests.net import free_port

PRODUCTS = 300
OUTAGE_S = 30.0  # how long OpenSearch stays down
CONVERGE_S = 120.0  # after the restart; the reconciler would only re-queue after 600 s


@dataclass
class Outage:
    settings: Settings
    client: OpenSearchClient
    node: LocalOpenSearch
    redis: LocalRedis
    worker: Worker


@pytest.fixture
def outage(tmp_path) -> Iterator[Outage]:
    """A node, a Redis and a worker of this test's own: they are the ones killed."""
    node = LocalOpenSearch(
        Settings().cache_dir,
        LocalNodeConfig(
            node_dir=tmp_path / "node",
            http_port=free_port(),
            transport_port=free_port(),
            heap="512m",
            cluster_name="faults",
        ),
    )
    rds = LocalRedis(tmp_path / "redis", free_port())
    worker = None
    try:
        node.start(timeout_s=300)
        rds.start()
        prefix = f"f{uuid.uuid4().hex[:8]}"
        settings = Settings(
            opensearch_url=node.config.url,
            redis_url=f"redis://127.0.0.1:{rds.port}/0",
            products_alias=f"{prefix}-products",
            events_alias=f"{prefix}-events",
            data_dir=tmp_path / "data",
            embed_batch_size=10,
            # longer than any batch takes here: a task still running when it expires is delivered again
            # under the same delivery tag, and the first copy's ack would leave the second unprotected
            task_visibility_timeout_s=30,
            device="cpu",
        )
        client = make_client(settings)
        ensure_indices(client, settings, ModelSet.from_settings(settings))
        worker = Worker(worker_env(settings), tmp_path / "worker.log")
        worker.start()
        yield Outage(settings, client, node, rds, worker)
    finally:
        if worker is not None:
            worker.stop()
        node.stop()
        rds.stop()


def upload(outage: Outage) -> list[str]:
    """Text-only products through the same path as POST /products: pending documents, then tasks."""
    rows = [
        {"product_id": f"f-{i:04d}", "title": f"Roadster Men Navy Blue Checked Casual Shirt {i}", "gender": "Men"}
        for i in range(PRODUCTS)
    ]
    enqueue = enqueue_embedding(make_celery(outage.settings))
    submit_products(outage.client, outage.settings, "faults", parse_products(rows), {}, enqueue)
    return [row["product_id"] for row in rows]


def counts(outage: Outage) -> dict[str, int]:
    refresh(outage.client, outage.settings.products_alias)
    return status_counts(outage.client, outage.settings.products_alias)


def wait_until_some_are_ready(outage: Outage) -> None:
    deadline = time.monotonic() + 120
    while counts(outage).get("ready", 0) == 0:
        assert time.monotonic() < deadline, "nothing became ready before the outage"
        time.sleep(0.5)


def seconds_until_all_ready(outage: Outage, ids: list[str]) -> float:
    started = time.monotonic()
    while True:
        try:
            now = counts(outage)
        except ServiceUnavailableError:  # the node is still coming up
            now = {}
        if now.get("ready") == len(ids):
            break
        assert time.monotonic() - started < CONVERGE_S, f"not all ready {CONVERGE_S:.0f}s after the restart: {now}"
        time.sleep(1)
    elapsed = time.monotonic() - started
    assert now == {"ready": len(ids)}  # none pending, none failed
    assert outage.client.count(index=outage.settings.products_alias)["count"] == len(ids)  # none duplicated
    keys = [doc_id("faults", pid) for pid in ids]
    assert sorted(get_products(outage.client, outage.settings.products_alias, keys)) == keys  # none missing
    return elapsed


def test_opensearch_killed_mid_ingestion_every_product_ends_ready(outage):
    ids = upload(outage)
    wait_until_some_are_ready(outage)
    assert outage.node.process.kill()
    time.sleep(OUTAGE_S)
    outage.node.start(timeout_s=300)  # shards recover while the worker's retries come back
    seconds_until_all_ready(outage, ids)


def test_redis_killed_mid_ingestion_every_product_ends_ready(outage):
    ids = upload(outage)
    wait_until_some_are_ready(outage)
    assert outage.redis.process.kill()
    time.sleep(5)
    outage.redis.start()
    seconds_until_all_ready(outage, ids)


def test_search_through_an_opensearch_outage_is_503_then_serves_again(outage):
    upload(outage)
    wait_until_some_are_ready(outage)
    api = create_app(services=Services.from_settings(outage.settings)).test_client()
    assert api.get("/search?q=navy+shirt").status_code == 200
    assert outage.node.process.kill()
    back = time.monotonic() + OUTAGE_S
    while time.monotonic() < back:
        down = api.get("/search?q=navy+shirt")
        assert down.status_code == 503 and int(down.headers["Retry-After"]) > 0
        assert down.get_json()["error"] == "service_unavailable"
        time.sleep(2)
    outage.node.start(timeout_s=300)
    deadline = time.monotonic() + 60  # the same app, no restart: its clients reconnect
    while (status := api.get("/search?q=navy+shirt").status_code) != 200:
        assert status == 503 and time.monotonic() < deadline
        time.sleep(1)


def test_a_product_on_a_shard_that_cannot_be_read_is_retried_not_missing(search_settings, catalog):
    """A document that cannot be read is not a document that does not exist: the task must retry."""
    client = make_client(search_settings)
    index = f"{search_settings.products_alias}-unassigned"
    nowhere = {"index.routing.allocation.require._name": "no-such-node"}
    client.indices.create(index=index, body={"settings": nowhere}, params={"wait_for_active_shards": "0"})
    try:
        pipeline = EmbeddingPipeline(search_settings)
        with pytest.raises(ServiceUnavailableError, match="unreadable"):
            embed_products(client, index, ["p1", "p2"], pipeline)
        client.indices.put_settings(index=index, body={"index.routing.allocation.require._name": None})
        client.cluster.health(index=index, wait_for_status="yellow")
        assert embed_products(client, index, ["p1", "p2"], pipeline).missing == ["p1", "p2"]  # now truly absent
    finally:
        client.indices.delete(index=index)

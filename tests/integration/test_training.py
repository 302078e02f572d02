"""Training follows data, against the real node, Redis and a worker running the schedule: an upload
large enough starts a run by itself, the alias moves to the re-fused index, and the API and the
evaluation runner use the new models without a restart, though the worker was killed mid-training."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from hybrid_search.api import create_app
from hybrid_search.catalog import SearchRequest
from hybrid_search.live_models import recorded_models
from hybrid_search.models import ModelSet
from hybrid_search.opensearch.client import make_client
from hybrid_search.opensearch.indices import alias_targets, building_indices, ensure_indices, products_index_name
from hybrid_search.opensearch.products import refresh, status_counts
from hybrid_search.search import SearchService
from hybrid_search.services import Services
from hybrid_search.settings import Settings
from hybrid_search.training import TrainingState
from tests.data import FASHION, fashion_rows
from tests.integration.cleanup import drop_test_indices
from tests.integration.processes import Worker, worker_env

ADMIN = {"X-API-Key": "dev-admin-key"}
MERCHANT = {"X-API-Key": "dev-merchant-key"}
TYPES = ("Backpacks", "Watches", "Tshirts", "Sports Shoes")


@pytest.fixture(scope="module")
def train_settings(service_urls, tmp_path_factory) -> Settings:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    return Settings(
        opensearch_url=service_urls["opensearch_url"],
        redis_url=service_urls["redis_url"].rsplit("/", 1)[0] + "/5",  # own queue
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("training"),
        import_dir=FASHION,
        embed_batch_size=16,
        task_visibility_timeout_s=5,
        device="cpu",
        models_poll_s=1,
        train_after_changes=60,
        train_quiet_s=2,
        train_check_s=1,
        train_lease_s=6,
        train_fusion_epochs=5,
    )


@pytest.fixture(scope="module")
def worker(train_settings, tmp_path_factory) -> Iterator[Worker]:
    client = make_client(train_settings)
    ensure_indices(client, train_settings, ModelSet.from_settings(train_settings))
    redis.Redis.from_url(train_settings.redis_url).flushdb()
    w = Worker(worker_env(train_settings), tmp_path_factory.mktemp("worker") / "worker.log", beat=True)
    w.start()
    yield w
    w.stop()
    drop_test_indices(client, train_settings)


def wait_for(condition, what: str, timeout: float = 600.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"{what}: not reached in {timeout}s")


def catalog() -> list[dict]:
    """80 real products of four types, three quarters with photos, named by path under the import folder."""
    rows = []
    for article_type in TYPES:
        typed = [r for r in fashion_rows() if r["article_type"] == article_type]
        rows += [r for r in typed if r["image"]][:15] + [r for r in typed if not r["image"]][:5]
    return [
        {
            "product_id": r["id"],
            "title": r["title"],
            "article_type": r["article_type"],
            "colour": r["colour"],
            "gender": r["gender"],
            "usage": r["usage"],
            **({"image": r["image"]} if r["image"] else {}),
        }
        for r in rows
    ]


def test_an_upload_trains_the_models_and_every_process_follows_the_alias(train_settings, worker):
    services = Services.from_settings(train_settings)
    client, state = services.opensearch, TrainingState(services.redis, train_settings.products_alias)
    api = create_app(services=services).test_client()
    evaluation = SearchService.from_services(services)  # what `eval` and the eval task search with
    untrained_index = alias_targets(client, train_settings.products_alias)[0]
    assert api.get("/search?q=black backpack").status_code == 200  # the API has loaded its models
    assert evaluation.pipeline.models.fusion is None

    products = catalog()
    half = len(products) // 2
    for part in (products[:half], products[half:]):  # two uploads: the second passes the threshold
        response = api.post("/products", headers=MERCHANT, json=part)
        assert response.status_code == 202, response.get_json()
    assert state.trigger()["changes"] == len(products)

    # The run starts by itself once embedding is done; the worker is killed during attribute training.
    run = wait_for(lambda: (r := state.run()) and r["step"] == "attributes" and r, "a run in its first step")
    assert run["reason"] == f"{len(products)} products changed" and state.trigger()["changes"] == 0
    assert status_counts(client, untrained_index) == {"ready": len(products)}
    time.sleep(2)  # into the encoding
    worker.kill()
    assert state.run()["step"] == "attributes", "the step finished before the worker died; nothing is proved"
    worker.start()

    # The schedule resumes the step once its lease runs out; the run ends with the alias swapped.
    done = wait_for(lambda: (r := state.run()) and r["state"] != "running" and r, "the run to end")
    assert done["state"] == "done", done
    trained_index = done["steps"]["embed"]["index"]
    assert done["steps"]["embed"]["swapped"] and alias_targets(client, train_settings.products_alias) == [trained_index]
    assert building_indices(client, train_settings.products_alias) == []
    recorded = recorded_models(client, trained_index)[trained_index]
    assert recorded.fusion == done["steps"]["fusion"]["artifact"] and recorded.fusion.startswith("fusion-")
    assert recorded.attributes == done["steps"]["attributes"]["artifact"]
    assert trained_index == products_index_name(train_settings.products_alias, recorded.version)
    assert done["steps"]["fusion"]["evaluation"]["trained"]["recall@10"] > 0
    assert "skipped" in done["steps"]["behaviour"]  # no events yet

    # Nothing was lost: every product, re-fused in the new index with the recorded models.
    refresh(client, trained_index)
    assert status_counts(client, trained_index) == {"ready": len(products)}
    sample = client.get(index=trained_index, id=f"demo/{products[0]['product_id']}")["_source"]
    assert sample["model_version"] == recorded.version

    # The API and the evaluation runner, built before the run, follow it within models_poll_s.
    time.sleep(train_settings.models_poll_s)
    health = api.get("/health").get_json()["models"]
    assert health["index"] == trained_index and health["queries"] == recorded.to_meta() and "warning" not in health
    assert evaluation.pipeline.models == recorded and evaluation.attributes is not None
    found = api.get("/search?q=black backpack&explain=true").get_json()
    assert found["hits"] and found["hits"][0]["explain"]["legs"]
    retrieval = evaluation.retrieve(SearchRequest(q="black backpack"), None, evaluation.profiles.get("default").profile)
    assert retrieval.legs["attributes"], "the attribute heads read the query"

    jobs = api.get("/jobs", headers=ADMIN)
    assert api.get("/jobs").status_code == 401
    view = jobs.get_json()
    assert view["training"]["state"] == "done" and [s["step"] for s in view["training"]["steps"]] == [
        "attributes",
        "behaviour",
        "fusion",
        "copy",
        "embed",
    ]
    assert view["products"] == [
        {
            "index": trained_index,
            "role": "live",
            "counts": {"ready": len(products)},
            "ready_last_minute": view["products"][0]["ready_last_minute"],
            "eta_s": 0,
        }
    ]
    assert view["next_training"]["changes"] == 0 and view["next_training"]["threshold"] == 60

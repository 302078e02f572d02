"""Training follows data, against the real node, Redis and a worker running the schedule: an upload
large enough starts a run by itself, the alias moves to the re-fused index, and the API and the
evaluation runner use the new models without a restart, though the worker was killed mid-training."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from hybrid_search.api import create_app
from hybrid_search.cli import main
from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation import jobs as evaluation_jobs
from hybrid_search.models.live import recorded_models
from hybrid_search.models.sets import ModelSet
from hybrid_search.querying.service import SearchService
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.events import write_events
from hybrid_search.stores.opensearch.indices import alias_targets, building_indices, ensure_indices, products_index_name
from hybrid_search.stores.opensearch.products import refresh, status_counts
from hybrid_search.stores.opensearch.profiles import activate, delete_profile, get_active, list_versions
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.services import Services
from hybrid_search.training import runner as training
from hybrid_search.training.runner import STEPS
from tests.data import FASHION, fashion_rows
from tests.integration.cleanup import drop_test_indices
from tests.integration.processes import Worker, worker_env

ADMIN = {"X-API-Key": "dev-admin-key"}
MERCHANT = {"X-API-Key": "dev-merchant-key"}
TYPES = ("Backpacks", "Watches", "Tshirts", "Sports Shoes")
# a training run over catalog() in a minute or two: it starts once the upload is embedded
QUICK_TRAINING = {
    "import_dir": FASHION,
    "embed_batch_size": 16,
    "device": "cpu",
    "models_poll_s": 1,
    "train_after_changes": 60,
    "train_quiet_s": 2,
    "train_check_s": 1,
    "train_fusion_epochs": 5,
}


@pytest.fixture(scope="module")
def train_settings(service_urls, tmp_path_factory) -> Settings:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    return Settings(
        opensearch_url=service_urls["opensearch_url"],
        redis_url=service_urls["redis_url"].rsplit("/", 1)[0] + "/5",  # own queue
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=tmp_path_factory.mktemp("training"),
        task_visibility_timeout_s=5,
        train_lease_s=6,
        **QUICK_TRAINING,
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
    """80 real products of four types, three quarters with photos, named by path under the import
    folder; and two more of each type sent with a title and a photo only (their attributes: tags)."""
    rows, bare = [], []
    for article_type in TYPES:
        typed = [r for r in fashion_rows() if r["article_type"] == article_type]
        rows += [r for r in typed if r["image"]][:15] + [r for r in typed if not r["image"]][:5]
        bare += [r for r in typed if r["image"]][15:17]
    return [{"product_id": r["id"], "title": r["title"], "image": r["image"]} for r in bare] + [
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
    assert evaluation.understanding.pipeline.models.fusion is None

    products = catalog()
    half = len(products) // 2
    for part in (products[:half], products[half:]):  # two uploads: the second passes the threshold
        response = api.post("/products", headers=MERCHANT, json=part)
        assert response.status_code == 202, response.get_json()
    assert state.trigger()["changes"] == len(products)

    # The run starts by itself once embedding is done; the worker is killed during attribute training.
    run = wait_for(lambda: (r := state.run()) and r.step == "attributes" and r, "a run in its first step")
    assert run.reason == f"{len(products)} products changed" and state.trigger()["changes"] == 0
    assert status_counts(client, untrained_index) == {"ready": len(products)}
    time.sleep(2)  # into the encoding
    worker.kill()
    assert state.run().step == "attributes", "the step finished before the worker died; nothing is proved"
    worker.start()

    # The schedule resumes the step once its lease runs out; the run ends with the alias swapped.
    done = wait_for(lambda: (r := state.run()) and r.state != "running" and r, "the run to end")
    assert done.state == "done", done
    trained_index = done.steps["embed"]["index"]
    assert done.steps["embed"]["swapped"] and alias_targets(client, train_settings.products_alias) == [trained_index]
    assert building_indices(client, train_settings.products_alias) == []
    assert done.steps["embed"]["dropped"] == [] and client.indices.exists(index=untrained_index)  # kept: the newest
    recorded = recorded_models(client, trained_index)[trained_index]
    assert recorded.fusion == done.steps["fusion"]["artifact"] and recorded.fusion.startswith("fusion-")
    assert recorded.attributes == done.steps["attributes"]["artifact"]
    assert recorded.ranker == done.steps["ranker"]["artifact"] and recorded.ranker.startswith("ranker-")
    assert done.steps["ranker"]["trained_on"]["catalog"] == len(products)
    assert trained_index == products_index_name(train_settings.products_alias, recorded.version)
    assert done.steps["fusion"]["evaluation"]["trained"]["recall@10"] > 0
    assert "skipped" in done.steps["behaviour"]  # no events yet

    # Nothing was lost: every product, re-fused in the new index with the recorded models.
    refresh(client, trained_index)
    assert status_counts(client, trained_index) == {"ready": len(products)}
    sample = client.get(index=trained_index, id=f"demo/{products[0]['product_id']}")["_source"]
    assert sample["model_version"] == recorded.version

    # Products sent with a title and a photo only carry the taggers' values beside theirs (none)
    bare = [p for p in products if "article_type" not in p]
    truth = {r["id"]: r for r in fashion_rows()}
    tagged = [client.get(index=trained_index, id=f"demo/{p['product_id']}")["_source"] for p in bare]
    assert recorded.tagger == done.steps["tags"]["artifact"] and recorded.tagger.startswith("tagger-")
    assert all("article_type" not in source and "colour" not in source for source in tagged)  # never over
    named = [
        s.get("tags", {}).get("article_type", {}).get("value") == truth[s["product_id"]]["article_type"] for s in tagged
    ]
    assert sum(named) >= len(bare) - 1, tagged

    # The API and the evaluation runner, built before the run, follow it within models_poll_s.
    time.sleep(train_settings.models_poll_s)
    health = api.get("/health").get_json()["models"]
    assert health["index"] == trained_index and health["queries"] == recorded.to_meta() and "warning" not in health
    assert evaluation.understanding.pipeline.models == recorded and evaluation.understanding.attributes is not None
    found = api.get("/search?q=black backpack&explain=true").get_json()
    assert found["hits"] and found["hits"][0]["explain"]["legs"]
    assert found["engine"]["name"] == "learned"  # the ranker the run trained, without a restart
    assert found["hits"][0]["explain"]["learned"]["version"] == recorded.ranker_version
    # a filter reads the taggers' value where a product lacks the merchant's, unless told not to
    backpacks = [
        s["product_id"]
        for s, ok in zip(tagged, named, strict=True)
        if ok and s["tags"]["article_type"]["value"] == "Backpacks"
    ]
    assert backpacks
    filtered = api.get("/search?q=backpack&article_type=Backpacks&size=100&explain=true").get_json()["hits"]
    assert set(backpacks) <= {h["id"] for h in filtered}
    explained = [h["explain"] for h in filtered if h["id"] in backpacks]  # marked as predicted
    assert all(e["predicted"]["article_type"]["value"] == "Backpacks" for e in explained)
    labelled = [h["explain"] for h in filtered if h["id"] not in {p["product_id"] for p in bare}]
    assert labelled and not any("article_type" in e.get("predicted", {}) for e in labelled)  # the merchant's own
    merchant_only = api.get("/search?q=backpack&article_type=Backpacks&size=100&tags=merchant").get_json()["hits"]
    assert not set(backpacks) & {h["id"] for h in merchant_only}
    worded = [pid for pid in backpacks if "backpack" in truth[pid]["title"].lower()]  # in the match set
    facets = {
        tags: api.get(f"/search?q=backpack&facets=article_type&tags={tags}").get_json()["facets"]["article_type"]
        for tags in ("predicted", "merchant")
    }
    backpacks_counted = {tags: next(f["count"] for f in by if f["value"] == "Backpacks") for tags, by in facets.items()}
    assert worded and backpacks_counted["predicted"] - backpacks_counted["merchant"] >= len(worded)

    retrieval = evaluation.retrieve(SearchRequest(q="black backpack"), None, evaluation.profiles.get("default").profile)
    assert retrieval.legs["attributes"], "the attribute heads read the query"

    jobs = api.get("/jobs", headers=ADMIN)
    assert api.get("/jobs").status_code == 401
    view = jobs.get_json()
    assert view["training"]["state"] == "done" and [s["step"] for s in view["training"]["steps"]] == list(STEPS)
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

    status = CliRunner().invoke(
        main, ["status"], env={k: v for k, v in worker_env(train_settings).items() if k.startswith("HYBRID_SEARCH_")}
    )
    assert status.exit_code == 0, status.output
    lines = status.stdout.splitlines()
    assert lines[0].startswith(f"{trained_index} (live): {len(products)} ready;")
    assert lines[1].startswith(f"training run {done.id} ({len(products)} products changed): done")
    assert [line.split()[:2] for line in lines[2 : 2 + len(STEPS)]] == [[step, "done"] for step in STEPS]
    assert lines[-1] == "next run: 0 of 60 changes, once uploads are quiet for 2 s"

    # The merchant reviews the tags, least sure first, and answers one: it becomes the product's own
    # (a label for the next run: one change)
    queue = api.get("/tags", headers=MERCHANT).get_json()["tags"]
    assert queue and [t["confidence"] for t in queue] == sorted(t["confidence"] for t in queue)
    assert {t["product_id"] for t in queue} <= {p["product_id"] for p in bare}
    first, other = queue[0], next(t for t in queue if t["product_id"] != queue[0]["product_id"])
    value = truth[first["product_id"]][first["attribute"]] or first["value"]
    answer = {"product_id": first["product_id"], "attribute": first["attribute"], "value": value}
    valid = {"product_id": other["product_id"], "attribute": other["attribute"], "value": other["value"]}
    for wrong, field in (
        ({"product_id": "no-such", "attribute": "colour", "value": "Red"}, "body[1].product_id"),
        ({**answer, "attribute": "brand"}, "body[1].attribute"),
    ):
        refused = api.post("/tags", headers=MERCHANT, json=[valid, wrong])
        assert refused.status_code in (400, 404) and refused.get_json()["field"] == field
    assert (
        other["attribute"] not in client.get(index=trained_index, id=f"demo/{other['product_id']}")["_source"]
    )  # nothing written
    assert api.post("/tags", headers=MERCHANT, json=[answer]).status_code == 202

    def embedded_again():
        source = client.get(index=trained_index, id=f"demo/{first['product_id']}")["_source"]
        return source if source["status"] == "ready" and source.get("text_vector") else None

    source = wait_for(embedded_again, "the answered product embedded again", timeout=120)
    assert source[first["attribute"]] == value and not (source.get("tags") or {}).get(first["attribute"])
    assert api.get("/jobs", headers=ADMIN).get_json()["next_training"]["changes"] == 1


ASKS = [
    ("black backpack", "Backpacks", "Black"),
    ("white sports shoes", "Sports Shoes", "White"),
    ("black watch", "Watches", "Black"),
    ("black rucksack", "Backpacks", "Black"),
    ("white running sneakers", "Sports Shoes", "White"),
    ("blue t-shirt", "Tshirts", "Blue"),
    ("brown handbag", "Handbags", "Brown"),
    ("black casual shoes", "Casual Shoes", "Black"),
]


@pytest.fixture
def profile_run(search_settings, catalog, tmp_path) -> Iterator[tuple[training.Context, str, int]]:
    """A run at its profile step over the shared test catalog, whose searches shoppers clicked: three
    sessions per query, clicks on the products of the wanted type and colour; and how many searches
    the events index judges (other tests log searches there too). The events written and the default
    profile's versions are put back afterwards (other tests read them)."""
    services = Services.from_settings(search_settings)
    client, profiles = services.opensearch, search_settings.profiles_index
    before = [p.version for p in list_versions(client, profiles, "default")]
    api = create_app(services=services).test_client()
    events = []
    for i, (text, article_type, colour) in enumerate(ASKS):
        for session in range(3):
            served = api.get("/search", query_string={"q": text, "size": 10}).get_json()
            for position, hit in enumerate(served["hits"], start=1):
                row = catalog[hit["id"]]
                actions = ["impression"]
                if row["article_type"] == article_type and (row["colour"] == colour or position <= 2):
                    actions.append("click")
                events += [
                    {
                        "action_name": action,
                        "query_id": served["query_id"],
                        "user_query": text,
                        "session_id": f"q{i}-s{session}",
                        "timestamp": "2026-11-28T00:00:00Z",
                        "event_attributes": {
                            "object": {"object_id": f"{hit['merchant']}/{hit['id']}", "object_id_field": "product_id"},
                            "position": {"ordinal": position},
                        },
                    }
                    for action in actions
                ]
    write_events(client, search_settings.events_alias, events, refresh=True)
    judged = evaluation_jobs.judgments_from_events(client, search_settings, tmp_path / "clicks.json").queries
    assert judged >= len(ASKS)
    state = TrainingState(services.redis, search_settings.products_alias)
    run_id = state.try_start("a test", events=len(events), first_step=STEPS[0])
    assert run_id is not None
    state.update(run_id, step="profile")
    sent: list[tuple[str, str]] = []
    ctx = training.Context(client, search_settings, state, lambda ids, index: None, lambda *step: sent.append(step))
    yield ctx, run_id, judged
    assert sent == []  # the last step sends nothing
    state.finish(run_id, "failed", "ended by the test")
    written = {"terms": {"query_id": sorted({e["query_id"] for e in events})}}
    client.delete_by_query(index=search_settings.events_alias, body={"query": written}, refresh=True)
    if before:
        activate(client, profiles, "default", max(before))
    elif list_versions(client, profiles, "default"):
        delete_profile(client, profiles, "default")


def test_the_profile_step_skips_until_enough_searches_are_judged_by_clicks(profile_run):
    ctx, run_id, judged = profile_run
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"train_profile_after_queries": judged + 1}))
    assert training.run_step(ctx, run_id, "profile") == "done"
    skipped = ctx.state.run().steps["profile"]["skipped"]
    assert skipped == f"{judged} queries judged by clicks (tuned from {judged + 1})"


def test_the_profile_step_tunes_on_clicks_and_keeps_only_what_beats_the_current_profile(profile_run):
    ctx, run_id, judged = profile_run
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"train_profile_after_queries": judged}))
    assert training.run_step(ctx, run_id, "profile") == "done"
    run = ctx.state.run()
    assert run.state == "done"
    step = run.steps["profile"]
    assert step["judged_queries"] == judged and Path(step["report"]).exists()
    better = step["cv_test"] > step["cv_base_test"] and step["tuned"] >= step["best_leg"]
    active = get_active(ctx.client, ctx.settings.profiles_index, "default")
    if better:
        assert step["saved"] == f"default@{active.version}" and "click-judged" in active.note
    else:
        assert step["saved"] is None and step["base"] == f"default@{active.version}"


def test_the_ranker_step_trains_on_clicks_once_they_judge_enough_queries(profile_run):
    """The catalog's own queries, and the click-judged ones where a held-out quarter of them says
    they help; the run records what the clicks did. The shared catalog's model record is put back."""
    from hybrid_search.models.live import live_models
    from hybrid_search.stores.opensearch.indices import update_meta

    ctx, run_id, judged = profile_run
    index, models = live_models(ctx.client, ctx.settings)
    try:
        few = replace(ctx, settings=ctx.settings.model_copy(update={"train_profile_after_queries": judged + 1}))
        step = training.STEP_FUNCTIONS["ranker"](few, run_id)
        assert step["clicks"] == f"{judged} queries judged by clicks (tuned from {judged + 1})"
        assert "clicks" not in step["trained_on"]

        enough = replace(ctx, settings=ctx.settings.model_copy(update={"train_profile_after_queries": judged}))
        step = training.STEP_FUNCTIONS["ranker"](enough, run_id)
        clicks = step["trained_on"]["clicks"]
        assert clicks["queries"] == judged and clicks["held_out"] == len(range(0, judged, 4))
        held = clicks["held_out_ndcg@10"]
        assert clicks["used"] == (held["catalog and clicks"] >= held["catalog"])
        assert 0 < held["catalog"] <= 1 and 0 < held["catalog and clicks"] <= 1
        assert recorded_models(ctx.client, ctx.settings.products_alias)[index].ranker == step["artifact"]
    finally:
        update_meta(ctx.client, index, {"models": models.to_meta()})

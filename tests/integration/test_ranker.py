"""The learned ranker on the real node: trained from shoppers' logged clicks (or from the queries the
catalog itself yields), recorded with the index, and served by /search without a restart."""

from __future__ import annotations

import json
import random
import time

import pytest
from click.testing import CliRunner

from hybrid_search.api import create_app
from hybrid_search.cli import main
from hybrid_search.evaluation import jobs as evaluation
from hybrid_search.evaluation import learning
from hybrid_search.evaluation.judgments import load_judgments
from hybrid_search.models.live import live_models
from hybrid_search.models.sets import ModelSet
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import ensure_indices, update_meta
from hybrid_search.stores.opensearch.profiles import save_version
from hybrid_search.stores.services import Services
from tests.integration.cleanup import drop_test_indices
from tests.integration.events import shoppers_click
from tests.integration.processes import worker_env

ADMIN = {"X-API-Key": "dev-admin-key"}
CLIENT = {"X-API-Key": "dev-client-key"}


@pytest.fixture
def ranker_settings(search_settings, catalog):
    """The shared test catalog with events of its own (other tests judge the shared events), and its
    model record put back afterwards: other tests read the catalog without a ranker."""
    prefix = search_settings.products_alias.removesuffix("-products")
    settings = search_settings.model_copy(update={"events_alias": f"{prefix}r-events"})
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    index, models = live_models(client, settings)
    yield settings
    update_meta(client, index, {"models": models.to_meta()})
    drop_test_indices(client, settings.model_copy(update={"products_alias": f"{prefix}r-none"}))


def test_a_ranker_trained_on_logged_clicks_is_served_without_a_restart(ranker_settings, judgments, tmp_path):
    queries_path, qrels_path = judgments
    queries, qrels = load_judgments(queries_path, qrels_path)
    api = create_app(services=Services.from_settings(ranker_settings)).test_client()
    before = api.get("/search", query_string={"q": "black backpack", "explain": "true"}).get_json()
    assert before["engine"]["name"] != "learned" and "learned" not in before["hits"][0]["explain"]

    # Shoppers search through the API (the default, and each leg alone as an exploration slice),
    # click by the judged grade of what they look at, more often higher up; /events logs it all.
    client = make_client(ranker_settings)
    for leg in ("bm25", "text", "attributes"):
        alone = BlendProfile(weights={leg: 1.0}, ranker=False)
        save_version(client, ranker_settings.profiles_index, f"ranker-{leg}", alone)
    profiles = ["default", "ranker-bm25", "ranker-text", "ranker-attributes"]
    rng = random.Random(5)
    shoppers_click(api, queries, qrels, profiles, 24, rng, CLIENT)
    made = api.post("/judgments/from-events", headers=ADMIN, json={"name": "ranker-clicks"})
    assert made.status_code == 201, made.get_json()
    judged = made.get_json()
    clicks = ranker_settings.judgments_root / judged["qrels"]

    env = {k: v for k, v in worker_env(ranker_settings).items() if k.startswith("HYBRID_SEARCH_")}
    trained = CliRunner().invoke(main, ["train-ranker", "--qrels", str(clicks)], env=env, catch_exceptions=False)
    clicks.unlink()  # the shared judgments folder lists the test set alone for the tests after this one
    assert trained.exit_code == 0, trained.output
    recorded = json.loads(trained.stdout[trained.stdout.index("{") :])
    # every query the clicks judged is trained on (a query nobody clicked has no judgments)
    assert recorded["trained_on"]["judgments"] == str(clicks) and recorded["trained_on"]["queries"] == judged["queries"]
    version = recorded["artifact"].removesuffix(".txt")

    # The same app, not restarted, ranks with it once it reads the index's record again.
    time.sleep(ranker_settings.models_poll_s)
    after = api.get("/search", query_string={"q": "black backpack", "explain": "true"}).get_json()
    assert after["engine"]["name"] == "learned"
    explained = after["hits"][0]["explain"]
    assert explained["combination"] == {"method": "learned", "ranker": version}
    learned = explained["learned"]
    assert learned["version"] == version and learned["features"]
    assert learned["base"] + sum(learned["by_leg"].values()) + learned["query"] == pytest.approx(
        learned["score"], abs=0.01
    )
    scores = [hit["score"] for hit in after["hits"]]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)  # no ties left to ids

    # Feature logging: what the ranker read for each query text it served is kept, and the next
    # ranker trains the clicks on those searches on it, as shoppers saw them (no leg runs again).
    service = SearchService.from_services(Services.from_settings(ranker_settings))
    shoppers_click(api, queries, qrels, ["default"], 4, rng, CLIENT)
    logged = service.feature_log.logged([q.text for q in queries])
    assert set(logged) == {q.text for q in queries}
    legs, signals = logged[queries[0].text]
    assert signals.text == queries[0].text and {"bm25", "text", "title_words"} <= set(legs)
    again = api.post("/judgments/from-events", headers=ADMIN, json={"name": "ranker-clicks-2"}).get_json()
    clicks = ranker_settings.judgments_root / again["qrels"]
    retrained = CliRunner().invoke(main, ["train-ranker", "--qrels", str(clicks)], env=env, catch_exceptions=False)
    clicks.unlink()
    assert retrained.exit_code == 0, retrained.output
    trained_on = json.loads(retrained.stdout[retrained.stdout.index("{") :])["trained_on"]
    assert trained_on["logged"] == trained_on["queries"] == again["queries"] > 0

    # What the clicks taught holds on the explicit judgments: at least as good as the best exploration slice.
    default = service.profiles.get("default").profile
    runs = {"served": default} | {name: service.profiles.get(name).profile for name in profiles[1:]}
    summary = evaluation.evaluate(service, queries_path, qrels_path, runs, tmp_path).summary
    best_slice = max(summary[name]["all"]["ndcg@10"] for name in profiles[1:])
    assert summary["served"]["all"]["ndcg@10"] >= best_slice - 0.02, summary


def test_the_catalog_alone_trains_a_ranker_that_finds_a_brand_and_a_products_own_photo(ranker_settings, catalog):
    """No judgments and no clicks: the queries the catalog yields train a ranker that puts a brand's
    products first for the brand typed alone and a product first for a phone snapshot of its photo."""
    from hybrid_search.core.catalog import (
        SearchRequest,
        doc_id,
        parse_products,
        product_document,
    )
    from hybrid_search.core.field_map import FASHION_FORMAT
    from hybrid_search.evaluation.synthetic import phone_snapshot
    from hybrid_search.indexing.embedding import embed_products
    from hybrid_search.models.pipeline import EmbeddingPipeline
    from hybrid_search.stores.opensearch.products import refresh, write_documents
    from tests.data import FASHION

    service = SearchService.from_services(Services.from_settings(ranker_settings))
    ranker = learning.train_from_catalog(service, service.profiles.get("default").profile)
    assert ranker.meta["trained_on"]["catalog"] == len(catalog)
    assert set(ranker.meta["trained_on"]["queries"]) == {"attributes", "described", "words", "title", "photo"}
    learning.save_and_record(service, ranker)
    time.sleep(ranker_settings.models_poll_s)

    brand = max(
        {r["title"].split()[0] for r in catalog.values()},
        key=lambda b: sum(r["title"].startswith(b + " ") for r in catalog.values()),
    )
    found = service.search(SearchRequest(q=brand.lower(), size=5))
    assert found.engine == "learned" and {"bm25", "text"} <= set(found.legs) <= set(ranker.legs_for(photo=False))
    assert "fused" not in found.legs  # the text model does without it: a k-NN search less per query
    assert all(hit.product["title"].startswith(brand) for hit in found.hits), (brand, found.hits)

    # A brand uploaded now, after the ranker and the heads' lexicon were trained: BM25 and the title
    # legs find it, and the ranker trusts them for a word it has never seen.
    client = make_client(ranker_settings)
    rows = [
        {**row, "id": f"zx{n}", "title": f"Zorvexa {row['title']}"} for n, row in enumerate(list(catalog.values())[:5])
    ]
    docs = [product_document(p, "fashion", None) for p in parse_products([FASHION_FORMAT.product(r) for r in rows])]
    write_documents(client, ranker_settings.products_alias, docs, refresh=True)
    ids = [doc_id("fashion", d["product_id"]) for d in docs]
    assert not embed_products(client, ranker_settings.products_alias, ids, EmbeddingPipeline(ranker_settings)).failed
    refresh(client, ranker_settings.products_alias)
    try:
        found = service.search(SearchRequest(q="zorvexa", size=5))
        assert set(found.ids()) == {r["id"] for r in rows}, found.hits
    finally:
        for key in ids:
            client.delete(index=ranker_settings.products_alias, id=key, refresh=True)

    rng = random.Random(2)
    pictured = sorted(pid for pid, r in catalog.items() if r["image"])
    firsts = {}
    for pid in rng.sample(pictured, 10):
        snapshot = phone_snapshot((FASHION / catalog[pid]["image"]).read_bytes(), rng)
        snapshot_found = service.search(SearchRequest(size=1, explain=True), snapshot)
        assert {"image", "fused"} <= set(snapshot_found.legs)
        firsts[pid] = snapshot_found.hits[0]
    assert sum(hit.id == pid for pid, hit in firsts.items()) >= 9, firsts
    # what put it first: its photo's keypoints matched the snapshot's (inliers, a feature of their own)
    found = [hit for pid, hit in firsts.items() if hit.id == pid]
    assert all(hit.explain["learned"]["by_leg"]["photo_match"] > 0 for hit in found), found

"""The two blend engines on the real node: OpenSearch's own hybrid query (neural-search) and the
_msearch legs blended in process give the same ranking wherever their formulas are the same; where
they differ by design, /search runs the in-process blend and says why. A node without neural-search
still serves every search."""

from __future__ import annotations

import io
import uuid

import pytest

from hybrid_search.api import create_app
from hybrid_search.core.catalog import SearchRequest
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch
from hybrid_search.models.sets import ModelSet
from hybrid_search.querying.service import SearchService
from hybrid_search.querying.storefront import Storefront
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.products import write_documents
from hybrid_search.stores.services import Services
from tests.data import photo_bytes
from tests.integration.events import purchases
from tests.integration.rankings import SCORE_TOLERANCE, assert_same_ranking
from tests.net import free_port

ADMIN = {"X-API-Key": "dev-admin-key"}
CLIENT = {"X-API-Key": "dev-client-key"}  # a storefront: its users' events and personalised searches
NATIVE, MSEARCH = "opensearch-hybrid", "msearch"
TEXT_LEGS = {"bm25": 0.3, "text": 0.5, "fused": 0.2, "image": 0.0}
QUERIES = (
    {"q": "black backpack"},
    {"q": "running shoes for men", "gender": "Men"},
    {"q": "black", "article_type": "Watches,Handbags"},
    {"q": "黑色双肩包"},
)


@pytest.fixture(scope="module")
def api(search_settings, catalog):
    """An API that prefers OpenSearch's hybrid query (HYBRID_SEARCH_BLEND_ENGINE=opensearch-hybrid)."""
    settings = search_settings.model_copy(update={"blend_engine": NATIVE})
    return create_app(services=Services.from_settings(settings)).test_client()


def test_by_default_the_legs_are_blended_in_process_unless_a_search_asks(search_settings, catalog):
    app = create_app(services=Services.from_settings(search_settings)).test_client()
    assert search(app, "auto", q="black backpack")["engine"] == {"name": MSEARCH}
    assert search(app, NATIVE, q="black backpack")["engine"] == {"name": NATIVE}


def use_profile(api, name: str, **profile) -> None:
    assert api.put(f"/profiles/{name}", headers=ADMIN, json=profile).status_code == 201


def search(api, engine: str, **params) -> dict:
    response = api.get("/search", query_string={"size": 10, "engine": engine, **params}, headers=CLIENT)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    if engine != "auto":
        assert body["engine"]["name"] == engine
    return body


def assert_same_leg_scores(native: list[dict], msearch: list[dict]) -> None:
    """Each leg's raw and normalised score in explain, where the hit is the same on both engines."""
    by_id = {hit["id"]: hit["explain"]["legs"] for hit in msearch}
    compared = 0
    for hit in native:
        if hit["id"] not in by_id:
            continue
        for leg, mine in by_id[hit["id"]].items():
            theirs = hit["explain"]["legs"][leg]
            assert theirs["found"] == mine["found"], (hit["id"], leg)
            if mine["found"]:
                assert theirs["raw"] == pytest.approx(mine["raw"], rel=1e-5)
                assert theirs["normalised"] == pytest.approx(mine["normalised"], abs=SCORE_TOLERANCE)
                compared += 1
    assert compared


@pytest.mark.parametrize(
    "profile",
    [
        {"normalisation": "min_max", "combination": "arithmetic", "missing": "zero"},
        {"normalisation": "l2", "combination": "arithmetic", "missing": "zero"},
        {"normalisation": "min_max", "combination": "geometric", "missing": "skip"},
        {"normalisation": "l2", "combination": "harmonic", "missing": "skip"},
    ],
    ids=lambda p: f"{p['normalisation']}-{p['combination']}",
)
def test_the_engines_agree_on_weighted_means(api, profile):
    name = f"mean-{uuid.uuid4().hex[:6]}"
    use_profile(api, name, weights=TEXT_LEGS, window=50, **profile)
    for query in QUERIES:
        native, msearch = (search(api, engine, profile=name, **query) for engine in (NATIVE, MSEARCH))
        assert native["legs"] == msearch["legs"] == ["bm25", "text", "fused"]
        assert_same_ranking(native["hits"], msearch["hits"])
        if profile["normalisation"] == "l2":  # explained natively: every leg's raw and normalised score
            native, msearch = (
                search(api, engine, profile=name, explain="true", **query) for engine in (NATIVE, MSEARCH)
            )
            assert_same_ranking(native["hits"], msearch["hits"])
            assert_same_leg_scores(native["hits"], msearch["hits"])
            for hit in native["hits"]:
                assert hit["explain"]["engine"] == NATIVE and hit["explain"]["final"] == hit["score"]


def test_min_max_is_explained_in_process_because_opensearch_explains_it_with_other_scores(api):
    # neural-search 2.19 rescales the hits to their normalised scores while explaining, then
    # normalises again: with explain on, its min_max scores come out as (x - 0.001) / 0.999
    use_profile(api, "explain-min-max", weights=TEXT_LEGS, window=50)
    explained = search(api, "auto", profile="explain-min-max", q="black backpack", explain="true")
    assert explained["engine"] == {
        "name": MSEARCH,
        "why": "OpenSearch 2.19 normalises min_max scores twice when it explains them",
    }
    plain = search(api, "auto", profile="explain-min-max", q="black backpack")
    assert plain["engine"] == {"name": NATIVE}
    assert_same_ranking(plain["hits"], explained["hits"])


def test_the_engines_agree_on_rrf_with_equal_weights(api):
    use_profile(api, "rrf-equal", weights={"bm25": 0.5, "text": 0.5, "fused": 0.5, "image": 0}, combination="rrf")
    for query in QUERIES:
        native, msearch = (
            search(api, engine, profile="rrf-equal", explain="true", **query) for engine in (NATIVE, MSEARCH)
        )
        assert_same_ranking(native["hits"], msearch["hits"])
        for hit in native["hits"]:  # each found leg contributes weight / (k + rank), rank read back from its score
            legs = [leg for leg in hit["explain"]["legs"].values() if leg["found"]]
            assert hit["explain"]["combined"] == pytest.approx(sum(0.5 * leg["normalised"] for leg in legs), rel=1e-5)


def test_auto_runs_natively_and_pages_the_same_blend(api):
    use_profile(api, "auto-mean", weights=TEXT_LEGS, window=60)
    whole = search(api, "auto", profile="auto-mean", q="black", size=30)
    assert whole["engine"] == {"name": NATIVE}
    pages = [search(api, "auto", profile="auto-mean", q="black", page=p)["hits"] for p in (1, 2, 3)]
    assert [h["id"] for h in sum(pages, [])] == [h["id"] for h in whole["hits"]]
    in_process = search(api, MSEARCH, profile="auto-mean", q="black", size=30)
    assert_same_ranking(whole["hits"], in_process["hits"])
    assert whole["total"] == in_process["total"] == 60


def test_personalisation_reranks_the_native_head_as_it_does_the_in_process_one(api, catalog):
    use_profile(api, "personal", weights=TEXT_LEGS, window=60, rerank_weight=1.0, rerank_depth=30)
    bought = [pid for pid, row in catalog.items() if row["article_type"] == "Casual Shoes"][:3]
    events = purchases("u-engines", bought)
    assert api.post("/events", json=events, headers=CLIENT).status_code == 202
    params = {"profile": "personal", "q": "shoes", "user_id": "u-engines", "size": 20}
    native, msearch = search(api, NATIVE, **params), search(api, MSEARCH, **params)
    assert native["personalised"] and msearch["personalised"]
    assert_same_ranking(native["hits"], msearch["hits"])
    assert all(h["product"] for h in native["hits"])  # sources came with the user's cosines
    anonymous = search(api, NATIVE, profile="personal", q="shoes", size=20)
    assert [h["id"] for h in native["hits"]] != [h["id"] for h in anonymous["hits"]]


@pytest.mark.parametrize(
    ("profile", "why"),
    [
        ({"missing": "skip"}, "arithmetic mean counts a leg that missed a document as zero, the profile as skip"),
        ({"normalisation": "z_score"}, "has no z_score normalisation"),
        ({"combination": "rrf"}, "takes no leg weights"),
    ],
)
def test_where_the_formulas_differ_the_in_process_blend_runs_and_says_why(api, profile, why):
    name = f"differ-{uuid.uuid4().hex[:6]}"
    use_profile(api, name, weights=TEXT_LEGS, **profile)
    auto = search(api, "auto", profile=name, q="black backpack")
    assert auto["engine"]["name"] == MSEARCH and why in auto["engine"]["why"] and auto["hits"]
    forced = api.get("/search", query_string={"profile": name, "q": "black backpack", "engine": NATIVE})
    assert forced.status_code == 400 and forced.get_json()["field"] == "engine"
    assert why in forced.get_json()["message"]


def test_a_photo_query_without_the_attributes_leg_runs_natively(api, catalog):
    use_profile(api, "photo-legs", weights={"fused": 0.5, "image": 1.0})
    shoe = next(r for r in catalog.values() if r["image"] and r["article_type"] == "Sports Shoes")
    response = api.post(
        "/search",
        content_type="multipart/form-data",
        data={"photo": (io.BytesIO(photo_bytes(shoe)), "q.jpg"), "size": "5", "profile": "photo-legs"},
    )
    body = response.get_json()
    assert body["engine"] == {"name": NATIVE} and body["legs"] == ["fused", "image"]
    assert body["hits"][0]["id"] == shoe["id"]


@pytest.fixture(scope="module")
def node_without_neural_search(tmp_path_factory, search_settings, catalog):
    """A second real node, assembled the same way but without the neural-search bundle, holding a copy
    of 40 embedded catalog products (vectors and all, from their stored sources)."""
    node = LocalOpenSearch(
        search_settings.cache_dir,
        LocalNodeConfig(
            node_dir=tmp_path_factory.mktemp("bare-node"),
            http_port=free_port(),
            transport_port=free_port(),
            heap="512m",
            cluster_name="without-neural-search",
            without_plugins=frozenset({"opensearch-neural-search"}),
        ),
    )
    node.start(timeout_s=300)
    try:
        settings = search_settings.model_copy(update={"opensearch_url": node.config.url, "blend_engine": NATIVE})
        client = make_client(settings)
        ensure_indices(client, settings, ModelSet.from_settings(settings))
        source = make_client(search_settings).search(
            index=search_settings.products_alias, body={"size": 40, "query": {"match": {"title": "black"}}}
        )
        write_documents(client, settings.products_alias, [h["_source"] for h in source["hits"]["hits"]], refresh=True)
        yield settings
    finally:
        node.stop()


def test_without_neural_search_every_search_blends_in_process(node_without_neural_search):
    settings = node_without_neural_search
    app = create_app(services=Services.from_settings(settings)).test_client()
    health = app.get("/health").get_json()["opensearch"]
    assert health["hybrid_query"] is False and "opensearch-neural-search" not in health["plugins"]
    body = app.get("/search", query_string={"q": "black backpack", "size": 5}).get_json()
    assert body["engine"] == {"name": MSEARCH, "why": "the cluster has no opensearch-neural-search plugin"}
    assert len(body["hits"]) == 5
    forced = app.get("/search", query_string={"q": "black backpack", "engine": NATIVE})
    assert forced.status_code == 400 and forced.get_json()["field"] == "engine"


def test_the_engines_count_one_match_set_within_a_storefronts_query(api, search_settings):
    """A storefront's query filters every leg; its total and facets are the same on both engines."""
    name = f"store-{uuid.uuid4().hex[:6]}"
    use_profile(api, name, weights=TEXT_LEGS, window=50, normalisation="l2")
    service = SearchService.from_services(Services.from_settings(search_settings))
    storefront = Storefront(
        where={"bool": {"filter": [{"terms": {"article_type": ["Backpacks", "Watches"]}}]}},
        aggs={"types": {"terms": {"field": "article_type"}}},
    )
    answers = {
        engine: service.search(SearchRequest(q="black", profile=name, engine=engine), storefront=storefront).to_json()
        for engine in (NATIVE, MSEARCH)
    }
    assert answers[NATIVE]["engine"]["name"] == NATIVE and answers[MSEARCH]["engine"]["name"] == MSEARCH
    native, msearch = answers[NATIVE], answers[MSEARCH]
    assert native["total"] == msearch["total"] > 0 and native["aggregations"] == msearch["aggregations"]
    assert {b["key"] for b in msearch["aggregations"]["types"]["buckets"]} <= {"Backpacks", "Watches"}
    assert_same_ranking(native["hits"], msearch["hits"])

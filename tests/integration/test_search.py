"""/search, /events, /profiles and the OpenSearch passthrough on real fashion products in the real node."""

from __future__ import annotations

import io
import time
from itertools import accumulate

import numpy as np
import pytest

from hybrid_search.api import create_app
from hybrid_search.ranking.rerank import profile_from_history
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.search import get_sources
from hybrid_search.stores.redis.users import UserProfiles
from hybrid_search.stores.services import Services
from tests.data import photo_bytes
from tests.integration.events import purchases

ADMIN = {"X-API-Key": "dev-admin-key"}
CLIENT = {"X-API-Key": "dev-client-key"}  # a storefront: its users' events and personalised searches


@pytest.fixture(scope="module")
def api(search_settings, catalog):
    app = create_app(services=Services.from_settings(search_settings)).test_client()
    # The vector and text legs without query understanding, for the tests of those legs; the tuned
    # default (with the attributes leg and per-class overrides) is tested on its own below.
    use_profile(app, "legs", weights={"bm25": 0.4, "text": 0.4, "fused": 0.2, "image": 1.0})
    return app


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [hit["id"] for hit in response.get_json()["hits"]]


def use_profile(api, name: str, **profile) -> None:
    assert api.put(f"/profiles/{name}", headers=ADMIN, json=profile).status_code == 201


def test_bm25_only(api, catalog):
    use_profile(api, "bm25", weights={"bm25": 1.0, "text": 0, "fused": 0, "image": 0})
    body = api.get("/search?q=backpack&profile=bm25&size=10&explain=true").get_json()
    assert set(body["legs"]) == {"bm25"}
    assert all("backpack" in h["product"]["title"].lower() for h in body["hits"])
    # hits name products as their merchant does: its own id, and the merchant
    assert all(h["merchant"] == "fashion" and h["id"] == h["product"]["product_id"] for h in body["hits"])


def test_vector_only_reaches_products_the_words_miss(api, catalog):
    use_profile(api, "dense", weights={"bm25": 0, "text": 1.0, "fused": 0, "image": 0})
    # Chinese for "black backpack": no title has these words, the multilingual encoder bridges.
    hits = api.get("/search", query_string={"q": "黑色双肩包", "profile": "dense", "size": 5}).get_json()["hits"]
    assert [h["product"]["article_type"] for h in hits].count("Backpacks") >= 4


def test_hybrid_blends_every_leg_and_filters_apply(api, catalog):
    body = api.get(
        "/search",
        query_string={"q": "running shoes for men", "gender": "Men", "size": 10, "explain": "true", "profile": "legs"},
    ).get_json()
    assert set(body["legs"]) == {"bm25", "text", "fused"}
    assert body["hits"] and all(h["product"]["gender"] == "Men" for h in body["hits"])
    assert sum(h["product"]["article_type"] == "Sports Shoes" for h in body["hits"]) >= 7
    typed = api.get("/search", query_string={"q": "black", "article_type": "Watches,Handbags", "size": 30}).get_json()
    assert {h["product"]["article_type"] for h in typed["hits"]} <= {"Watches", "Handbags"}


def test_photo_query_finds_the_same_kind(api, catalog):
    shoe = next(r for r in catalog.values() if r["image"] and r["article_type"] == "Sports Shoes")
    response = api.post(
        "/search",
        content_type="multipart/form-data",
        data={"photo": (io.BytesIO(photo_bytes(shoe)), "q.jpg"), "size": "5", "profile": "legs"},
    )
    hits = response.get_json()["hits"]
    assert set(response.get_json()["legs"]) == {"image", "fused"}
    assert hits[0]["id"] == shoe["id"]  # its own photo first
    served = api.get(hits[0]["photo_url"])  # where a storefront's page gets it: the photo itself
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data[:2] == b"\xff\xd8"
    assert all(("photo_url" in h) == bool(h["product"].get("image_hash")) for h in hits)
    assert sum(h["product"]["article_type"] in ("Sports Shoes", "Casual Shoes") for h in hits) >= 4


def test_a_photo_is_verified_against_the_image_legs_first_hits_unless_switched_off(search_settings, catalog):
    """What the learned ranker reads of a snapshot: its keypoint inliers with the image leg's first
    hits' photos, read from the photo store by the hash the image leg returns."""
    import random

    from hybrid_search.core.catalog import SearchRequest
    from hybrid_search.evaluation.synthetic import phone_snapshot
    from hybrid_search.querying.service import SearchService
    from hybrid_search.ranking.profiles import every_leg

    shoe = next(r for r in catalog.values() if r["image"] and r["article_type"] == "Sports Shoes")
    snapshot = phone_snapshot(photo_bytes(shoe), random.Random(7))
    service = SearchService.from_services(Services.from_settings(search_settings))
    profile = every_leg(50, service.profiles.get("default").profile.attribute_weights)
    found = service.retrieve(SearchRequest(), snapshot, profile)
    matches = found.signals.photo_matches
    assert list(matches) == [doc for doc, _ in found.legs["image"][:10]]
    own = f"fashion/{shoe['id']}"
    assert matches[own] >= 15 and matches[own] > 3 * max(n for d, n in matches.items() if d != own), matches
    off = search_settings.model_copy(update={"photo_match_candidates": 0})
    service = SearchService.from_services(Services.from_settings(off))
    assert service.retrieve(SearchRequest(), snapshot, profile).signals.photo_matches is None


def test_like_excludes_the_product_itself(api, catalog):
    bag = next(r for r in catalog.values() if r["article_type"] == "Backpacks")
    found = ids(api.get(f"/search?like={bag['id']}&size=10"))
    assert bag["id"] not in found
    assert sum(catalog[i]["article_type"] == "Backpacks" for i in found) >= 6


def test_pages_are_stable_without_duplicates_or_gaps(api, catalog):
    whole = ids(api.get("/search?q=black&size=30"))
    pages = [ids(api.get(f"/search?q=black&size=10&page={p}")) for p in (1, 2, 3)]
    assert sum(pages, []) == whole
    assert len(set(whole)) == 30
    assert ids(api.get("/search?q=black&size=10&page=2")) == pages[1]


def test_explain_accounts_for_every_score(api, catalog):
    body = api.get("/search?q=white%20tshirt&size=10&explain=true").get_json()
    for hit in body["hits"]:
        e = hit["explain"]
        assert e["final"] == hit["score"]
        assert e["combination"]["missing"] == "zero"  # the default: a leg that missed counts 0
        legs = e["legs"].values()
        mean = sum(v["weight"] * v.get("normalised", 0.0) for v in legs) / sum(v["weight"] for v in legs)
        assert e["combined"] == pytest.approx(mean)
        assert e["final"] == pytest.approx(e["combined"] + e["rerank_weight"] * e["boost_scale"] * e["user_boost"])


def test_rrf_profile(api, catalog):
    use_profile(api, "rrf", combination="rrf", rank_constant=10)
    e = api.get("/search?q=watch&profile=rrf&size=3&explain=true").get_json()["hits"][0]["explain"]
    assert e["combination"] == {"method": "rrf", "rank_constant": 10.0}
    expected = sum(v["weight"] / (10 + v["rank"]) for v in e["legs"].values() if v["found"])
    assert e["combined"] == pytest.approx(expected)


def test_personalisation_reorders_for_a_user_with_history_only(api, catalog):
    query = "/search?q=shoes&size=20&profile=legs"
    anonymous = ids(api.get(query))
    casual = [i for i in anonymous if catalog[i]["article_type"] == "Casual Shoes"]
    assert casual, "the query should find casual shoes"
    events = purchases("u-casual", casual[:4])
    assert api.post("/events", json=events, headers=CLIENT).status_code == 202
    personal = api.get(f"{query}&user_id=u-casual&explain=true", headers=CLIENT).get_json()
    assert personal["personalised"] is True
    reordered = [h["id"] for h in personal["hits"]]
    assert reordered != anonymous
    assert all(h["explain"]["user_boost"] != 0 for h in personal["hits"])

    def casual_above(ranking: list[str]) -> list[int]:
        """How many casual shoes rank above each depth of the page."""
        return list(accumulate(catalog[i]["article_type"] == "Casual Shoes" for i in ranking))

    # the type the user buys moves up as a group: at least as many above every depth, more above some
    personal_casual, anonymous_casual = casual_above(reordered), casual_above(anonymous)
    assert all(p >= a for p, a in zip(personal_casual, anonymous_casual, strict=True))
    assert personal_casual != anonymous_casual
    bought = casual[:4]
    assert sum(reordered.index(i) for i in bought) < sum(anonymous.index(i) for i in bought)
    assert ids(api.get(f"{query}&user_id=u-nobody", headers=CLIENT)) == anonymous

    # on request, why: the user's favoured attribute values each result has, the nearest products they bought
    why = api.get(f"{query}&user_id=u-casual&explain=true&why=true", headers=CLIENT).get_json()["hits"]
    casual_hit = next(h for h in why if h["product"]["article_type"] == "Casual Shoes")
    assert casual_hit["explain"]["why"]["attributes"][0] == {
        "field": "article_type",
        "value": "casual shoes",
        "share": 1.0,
    }
    nearest = casual_hit["explain"]["why"]["nearest_history"]
    assert 1 <= len(nearest) <= 3 and {n["id"] for n in nearest} <= set(bought) - {casual_hit["id"]}
    assert [n["cosine"] for n in nearest] == sorted((n["cosine"] for n in nearest), reverse=True)
    assert "why" not in personal["hits"][0]["explain"]  # only on request


def test_the_profile_events_build_in_redis_is_the_one_tuning_computes(api, catalog, search_settings):
    services = Services.from_settings(search_settings)
    products = [i for i in ids(api.get("/search?q=backpack&size=5")) if i in catalog][:3]
    history = [("click", products[0]), ("purchase", products[1]), ("add_to_cart", products[2]), ("click", products[0])]
    events = [
        {"action_name": a, "user_id": "u-replay", "session_id": "s1", "event_attributes": {"object": {"object_id": p}}}
        for a, p in history
    ]
    for event in events:  # one at a time, in order, as a storefront sends them
        assert api.post("/events", json=event, headers=CLIENT).status_code == 202
    sources = get_sources(services.opensearch, search_settings.products_alias, [f"fashion/{p}" for p in products])
    expected = profile_from_history(
        [(a, sources[f"fashion/{p}"]) for a, p in history], search_settings.user_vector_decay
    )
    stored = UserProfiles(services.redis, search_settings.products_alias).get("storefront", "u-replay")
    np.testing.assert_allclose(stored.vector, expected.vector, atol=1e-6)
    assert stored.affinities.keys() == expected.affinities.keys()
    for name, shares in expected.affinities.items():
        assert stored.affinities[name] == pytest.approx(shares)
    assert UserProfiles(services.redis, search_settings.products_alias).history("storefront", "u-replay") == [
        f"fashion/{p}" for p in (products[0], products[2], products[1])
    ]


def test_a_forgotten_user_loses_profile_and_events_and_searches_as_anonymous(api, catalog, search_settings):
    query = "/search?q=watch&size=20&profile=legs"
    anonymous = ids(api.get(query))
    events = purchases("u-forget", anonymous[-3:])
    assert api.post("/events", json=events, headers=CLIENT).status_code == 202
    assert ids(api.get(f"{query}&user_id=u-forget", headers=CLIENT)) != anonymous  # the first events count at once
    client = make_client(search_settings)

    def stored_events() -> int:
        client.indices.refresh(index=search_settings.events_alias)
        body = {"query": {"term": {"user_id": "u-forget"}}}
        return client.count(index=search_settings.events_alias, body=body)["count"]

    assert stored_events() == 3
    assert api.delete("/users/u-forget", headers={"X-API-Key": "dev-merchant-key"}).status_code == 401
    missing_client = api.delete("/users/u-forget", headers=ADMIN)
    assert missing_client.status_code == 400 and missing_client.get_json()["field"] == "client"
    forgotten = api.delete("/users/u-forget", headers=CLIENT)
    assert forgotten.status_code == 200
    assert forgotten.get_json() == {
        "user_id": "u-forget",
        "client": "storefront",
        "profile_deleted": True,
        "events_deleted": 3,
    }
    assert stored_events() == 0
    assert ids(api.get(f"{query}&user_id=u-forget", headers=CLIENT)) == anonymous
    again = api.delete("/users/u-forget?client=storefront", headers=ADMIN).get_json()
    assert again["profile_deleted"] is False and again["events_deleted"] == 0


def test_forgetting_a_user_takes_the_events_that_name_them_as_their_client_too(api, catalog, search_settings):
    """UBI's client_id is how a shopper who never signed in is known: their events name no user_id
    (forgetting missed them, the probe of 2026-12-05)."""
    product = ids(api.get("/search?q=watch&size=1"))[0]
    device = {"action_name": "click", "client_id": "device-7", "event_attributes": {"object": {"object_id": product}}}
    signed_in = {**device, "user_id": "u-device", "client_id": "other-device"}
    assert api.post("/events", json=[device, device, signed_in], headers=CLIENT).status_code == 202
    assert api.delete("/users/device-7", headers=CLIENT).get_json()["events_deleted"] == 2
    assert api.delete("/users/u-device", headers=CLIENT).get_json()["events_deleted"] == 1


def test_the_admin_deletes_a_clients_events_by_any_of_their_ids(api, catalog):
    """A test event that names a session only: no user-facing call could delete it."""
    product = ids(api.get("/search?q=watch&size=1"))[0]
    event = {"action_name": "click", "client_id": "probe-device", "session_id": "probe-session"}
    event["event_attributes"] = {"object": {"object_id": product}}
    assert api.post("/events", json=[event, event], headers=CLIENT).status_code == 202
    body = {"client": "storefront", "session_id": "probe-session"}
    assert api.post("/events/delete", json=body, headers=CLIENT).status_code == 401
    deleted = api.post("/events/delete", json=body, headers=ADMIN)
    assert deleted.status_code == 200 and deleted.get_json() == {"client": "storefront", "events_deleted": 2}
    for bad, field in (
        ({"client": "storefront"}, "body"),
        ({"session_id": "x"}, "client"),
        ({"client": "storefront", "merchant_id": "x"}, "merchant_id"),
        ({"client": "storefront", "user_id": ""}, "user_id"),
    ):
        refused = api.post("/events/delete", json=bad, headers=ADMIN)
        assert refused.status_code == 400 and refused.get_json()["field"] == field


def test_an_event_names_its_product_by_product_id_only(api, catalog):
    """Another object_id_field skipped the check that the product exists."""
    event = {
        "action_name": "click",
        "user_id": "u-field",
        "event_attributes": {"object": {"object_id": "not-a-product", "object_id_field": "sku"}},
    }
    refused = api.post("/events", json=event, headers=CLIENT)
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "events[0].event_attributes.object.object_id_field"


def test_passthrough_equals_direct(api, catalog, search_settings):
    body = {"query": {"match": {"title": "backpack"}}, "size": 5, "sort": ["_score", {"product_id": "asc"}]}
    through = api.post(f"/{search_settings.products_alias}/_search", json=body, headers=CLIENT).get_json()
    direct = make_client(search_settings).search(index=search_settings.products_alias, body=body)
    assert [h["_id"] for h in through["hits"]["hits"]] == [h["_id"] for h in direct["hits"]["hits"]]
    assert through["hits"]["total"] == direct["hits"]["total"]


def test_passthrough_with_ext_hybrid_is_the_blend(api, catalog, search_settings):
    body = {"size": 5, "from": 5, "ext": {"hybrid": {"q": "black backpack"}}}
    through = api.post(f"/{search_settings.products_alias}/_search", json=body, headers=CLIENT).get_json()
    hits = api.get("/search?q=black%20backpack&size=5&page=2").get_json()["hits"]
    assert [h["_id"] for h in through["hits"]["hits"]] == [f"{h['merchant']}/{h['id']}" for h in hits]
    assert api.post("/other-index/_search", json={}, headers=CLIENT).status_code == 404


def test_profiles_are_versioned_and_picked_up_by_other_processes(api, search_settings):
    other_process = create_app(services=Services.from_settings(search_settings)).test_client()
    use_profile(api, "shared", weights={"bm25": 1.0, "text": 0, "fused": 0, "image": 0})
    assert set(other_process.get("/search?q=bag&profile=shared").get_json()["legs"]) == {"bm25"}
    use_profile(api, "shared", weights={"bm25": 0, "text": 1.0, "fused": 0, "image": 0})
    versions = api.get("/profiles/shared/versions", headers=ADMIN).get_json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    time.sleep(2.1)  # the per-process cache lives 2 s
    assert set(other_process.get("/search?q=bag&profile=shared").get_json()["legs"]) == {"text"}
    pinned = other_process.get("/search?q=bag&profile=shared@1").get_json()  # one version, whichever is active
    assert set(pinned["legs"]) == {"bm25"} and pinned["profile"]["version"] == 1
    assert api.post("/profiles/shared/activate", headers=ADMIN, json={"version": 1}).status_code == 200
    assert api.get("/profiles/shared", headers=ADMIN).get_json()["version"] == 1
    assert api.get("/profiles", headers={"X-API-Key": "dev-merchant-key"}).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/search?q=x&size=0", "size"),
        ("/search?q=x&page=abc", "page"),
        ("/search?q=x&price_min=10&price_max=5", "price_min"),
        ("/search?q=x&profile=Bad!", "profile"),
        ("/search?q=x&profile=missing", None),
        ("/search?q=x&profile=default@99", None),
        ("/search?q=x&profile=default@", "profile"),
        ("/search?like=nope", "like"),
        ("/search?size=5", "q"),
        ("/search?q=x&colour=red&bogus=1", "bogus"),
    ],
)
def test_bad_searches_are_4xx_naming_the_field(api, query, field):
    response = api.get(query)
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400
        assert response.get_json()["field"] == field


def test_bad_profiles_and_events_name_the_field(api):
    bad = api.put("/profiles/x", headers=ADMIN, json={"weights": {"bm25": -1}})
    assert bad.status_code == 400 and bad.get_json()["field"] == "body"
    bad = api.put("/profiles/x", headers=ADMIN, json={"combination": "median"})
    assert bad.get_json()["field"] == "combination"
    on_1 = {"object": {"object_id": "1"}}
    bad = api.post(
        "/events",
        json=[
            {"action_name": "click", "user_id": "u", "event_attributes": on_1},
            {"action_name": "wink", "user_id": "u", "event_attributes": on_1},
        ],
        headers=CLIENT,
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "events[1].action_name"
    nobody = {"action_name": "click", "event_attributes": on_1}
    assert api.post("/events", json=nobody, headers=CLIENT).get_json()["field"] == "events[0].user_id"


def test_opensearch_down_is_503_with_retry_after(search_settings):
    down = search_settings.model_copy(update={"opensearch_url": "http://127.0.0.1:9", "opensearch_timeout_s": 1})
    response = create_app(services=Services.from_settings(down)).test_client().get("/search?q=shoes")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"] == "service_unavailable"
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_default_profile_blends_each_query_class_its_own_way(api, catalog):
    from hybrid_search.ranking.profiles import BUILT_IN

    for q, query_class in (("black backpack", "short"), ("黑色双肩包", "zh"), ("a black backpack for school", "long")):
        response = api.get("/search", query_string={"q": q, "size": 5, "explain": "true"})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["profile"]["query_class"] == query_class
        if body["profile"]["version"] == 0:
            # the class's override, or the whole profile when the override has no leg this service can
            # run (an attributes-only override before any attribute heads are trained)
            weighted = [
                {leg for leg, w in p.weights.items() if w > 0}
                for p in (BUILT_IN.profile.for_class(query_class), BUILT_IN.profile)
            ]
            assert body["legs"] and any(set(body["legs"]) <= legs for legs in weighted)
        for hit in body["hits"]:
            assert hit["explain"]["final"] == pytest.approx(hit["score"])


def test_without_attribute_heads_the_default_still_serves_every_kind_of_query(search_settings, catalog):
    from hybrid_search.core.catalog import SearchRequest
    from hybrid_search.querying.service import SearchService

    settings = search_settings.model_copy(update={"attribute_model": "none"})
    service = SearchService.from_services(Services.from_settings(settings))
    bag = next(r for r in catalog.values() if r["article_type"] == "Backpacks" and r["image"])
    for request, photo in (
        (SearchRequest(like=bag["id"]), None),
        (SearchRequest(), photo_bytes(bag)),
        (SearchRequest(q="黑色双肩包"), None),
        (SearchRequest(q="black backpack"), None),
    ):
        result = service.search(request, photo)
        assert result.hits and "attributes" not in result.legs


def test_facets_count_the_match_set_which_gives_the_total(api, catalog, search_settings):
    """/search's total was the fusion window (100), and it had no facets."""
    plain = api.get("/search?q=black&size=5").get_json()
    faceted = api.get("/search?q=black&size=5&facets=colour,article_type").get_json()
    assert [h["id"] for h in faceted["hits"]] == [h["id"] for h in plain["hits"]]  # the same ranking
    total, facets = faceted["total"], faceted["facets"]
    assert sum(f["count"] for f in facets["article_type"]) == sum(f["count"] for f in facets["colour"]) == total
    # spelled as the catalog spells them (the keyword normaliser folds what the index aggregates)
    assert {f["value"] for f in facets["colour"]} <= {row["colour"] for row in catalog.values()}
    assert {f["value"] for f in facets["article_type"]} <= {row["article_type"] for row in catalog.values()}
    assert "Black" in {f["value"] for f in facets["colour"]}
    lexical = {"query": {"match": {"title": "black"}}}  # a subset: titles with the word
    assert make_client(search_settings).count(index=search_settings.products_alias, body=lexical)["count"] <= total
    within = api.get("/search?q=black&colour=Black&facets=colour").get_json()
    assert [f["value"] for f in within["facets"]["colour"]] == ["Black"] and within["total"] < total
    refused = api.get("/search?q=black&facets=price")
    assert refused.status_code == 400 and refused.get_json()["field"].startswith("facets")


@pytest.mark.parametrize("engine", ["msearch", "opensearch-hybrid"])
def test_the_last_page_of_the_blend_may_be_short_and_none_starts_past_its_window(api, catalog, engine):
    whole = api.get(f"/search?q=shoes&size=100&engine={engine}").get_json()
    assert whole["ranked"] == len(whole["hits"]) == 100 <= whole["total"]  # the fusion window of 100
    last = api.get(f"/search?q=shoes&size=30&page=4&engine={engine}").get_json()
    assert [h["id"] for h in last["hits"]] == [h["id"] for h in whole["hits"][90:]]  # 10, not a 400
    past = api.get(f"/search?q=shoes&size=30&page=5&engine={engine}")
    assert past.status_code == 400 and past.get_json()["field"] == "page"


def test_a_sort_pages_the_match_set_in_that_order_with_its_facets(api, catalog):
    blended = api.get("/search?q=black&facets=colour").get_json()
    by_year = api.get("/search?q=black&sort=year:desc&facets=colour&size=5").get_json()
    assert by_year["engine"] == {"name": "sorted"} and by_year["total"] == by_year["ranked"] == blended["total"]
    assert by_year["facets"] == blended["facets"]  # one match set, whatever its order
    years = [h["product"]["year"] for h in by_year["hits"]]
    assert years == sorted(years, reverse=True) and [h["sort"][0] for h in by_year["hits"]] == years
    second = api.get("/search?q=black&sort=year:desc&size=5&page=2").get_json()
    both = api.get("/search?q=black&sort=year:desc&size=10").get_json()
    assert [h["id"] for h in by_year["hits"] + second["hits"]] == [h["id"] for h in both["hits"]]
    deep = api.get("/search?q=black&sort=year:desc&size=100&page=3")  # past any fusion window: OpenSearch pages it
    assert deep.status_code == 200 and deep.get_json()["page"] == 3
    for bad in ("colour", "year:up"):
        refused = api.get(f"/search?q=black&sort={bad}")
        assert refused.status_code == 400 and refused.get_json()["field"].startswith("sort")


def test_a_photo_counts_its_nearest_products_whatever_legs_rank_it(api, catalog):
    """A photo ranked by its attributes leg alone (the vote of its nearest products) still has a match set."""
    shoe = next(r for r in catalog.values() if r["image"] and r["article_type"] == "Sports Shoes")
    use_profile(api, "votes", weights={"attributes": 1.0}, window=50)
    for profile in ("legs", "votes"):
        data = {
            "photo": (io.BytesIO(photo_bytes(shoe)), "q.jpg"),
            "size": "5",
            "profile": profile,
            "facets": "article_type",
        }
        found = api.post("/search", content_type="multipart/form-data", data=data).get_json()
        assert found["hits"] and found["total"] >= len(found["hits"])
        assert sum(f["count"] for f in found["facets"]["article_type"]) == found["total"]

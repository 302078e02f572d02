"""The security and reliability probes of the API, as regression tests on the real node and Redis:
who may read what, who may steer whose results, and no 5xx for bad input or a missing Redis."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hybrid_search.api import create_app
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import alias_targets
from hybrid_search.stores.services import Services
from tests.integration.events import purchases

ADMIN = {"X-API-Key": "dev-admin-key"}
CLIENT = {"X-API-Key": "dev-client-key"}
RIVAL = {"X-API-Key": "rival-client-key"}
MERCHANT = {"X-API-Key": "dev-merchant-key"}
SAME_ORIGIN = {"Origin": "http://localhost"}  # the test client's own host: a console form posted from a console page
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture(scope="module")
def api(search_settings, catalog):
    keys = {"dev-client-key": "storefront", "rival-client-key": "rival"}
    settings = search_settings.model_copy(update={"client_keys": keys})
    return create_app(services=Services.from_settings(settings)).test_client()


@pytest.fixture(scope="module")
def passthrough(search_settings) -> str:
    return f"/{search_settings.products_alias}/_search"


@pytest.mark.parametrize(
    "pattern",
    ["{alias}-*,{events}*", "{alias}-*,*", "{alias}-*,.tasks", "{alias},{events}", "{alias}*", "{physical}"],
)
def test_the_passthrough_reads_the_live_alias_only(api, search_settings, catalog, pattern):
    physical = alias_targets(make_client(search_settings), search_settings.products_alias)[0]
    index = pattern.format(alias=search_settings.products_alias, events=search_settings.events_alias, physical=physical)
    body = {"size": 100, "aggs": {"users": {"terms": {"field": "user_id"}}}}
    response = api.post(f"/{index}/_search", json=body, headers=CLIENT)
    assert response.status_code == 404 and response.get_json()["error"]["field"] == "index"


def test_the_passthrough_needs_a_key_and_hides_vectors_from_all_but_the_admin(api, passthrough, catalog):
    body = {"query": {"match": {"title": "backpack"}}, "size": 3, "_source": ["title", "text_vector", "content_hash"]}
    assert api.post(passthrough, json=body).status_code == 401
    assert api.post(passthrough, json=body, headers={"X-API-Key": "guess"}).status_code == 401
    hits = api.post(passthrough, json=body, headers=CLIENT).get_json()["hits"]["hits"]
    assert hits and all(set(h["_source"]) == {"title"} for h in hits)
    hits = api.post(passthrough, json=body, headers=ADMIN).get_json()["hits"]["hits"]
    assert all(len(h["_source"]["text_vector"]) == 384 and h["_source"]["content_hash"] for h in hits)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"script_fields": {"x": {"script": {"source": "params._source.toString()"}}}}, "body.script_fields"),
        ({"query": {"script": {"script": "for (int i = 0; i < 100000000; i++) {} return true;"}}}, "body.query.script"),
        ({"size": 10_000}, "body.size"),
        ({"aggs": {"m": {"terms": {"field": "merchant_id"}}}}, "body.aggs.m.terms.field"),
        # the probe of 2026-12-05: Painless in a terms_set ran (200) through the old deny-list
        (
            {
                "size": 0,
                "track_total_hits": True,
                "query": {
                    "terms_set": {
                        "colour": {
                            "terms": ["black"],
                            "minimum_should_match_script": {
                                "source": "doc['content_hash'].value.startsWith('a') ? 1 : 5"
                            },
                        }
                    }
                },
            },
            "body.query.terms_set.colour.minimum_should_match_script",
        ),
        # hidden fields through sort and a filters aggregation (their values, counts by merchant)
        ({"sort": [{"content_hash": "asc"}]}, "body.sort[0].content_hash"),
        (
            {"size": 0, "aggs": {"m": {"filters": {"filters": {"a": {"term": {"merchant_id": "acme"}}}}}}},
            "body.aggs.m.filters.filters.a.term.merchant_id",
        ),
        ({"sort": [{"text_vector": "asc"}]}, "body.sort[0].text_vector"),  # was a 502
    ],
)
def test_the_passthrough_refuses_code_bulk_reads_and_internal_facets(api, passthrough, catalog, body, field):
    response = api.post(passthrough, json=body, headers=CLIENT)
    assert response.status_code == 400 and response.get_json()["error"]["field"] == field


def test_a_storefront_query_of_many_kinds_runs_on_the_node(api, passthrough, catalog):
    """What the allow-list names is what OpenSearch 2.19 runs: every kind at once, a 200."""
    body = {
        "query": {
            "function_score": {
                "query": {
                    "bool": {
                        "must": [{"multi_match": {"query": "black backpack", "fields": ["title^2", "description"]}}],
                        "filter": [
                            {"terms": {"article_type": ["Backpacks", "Watches"]}},
                            {"exists": {"field": "title"}},
                        ],
                        "should": [{"simple_query_string": {"query": "school", "fields": ["title"]}}],
                    }
                },
                "functions": [{"filter": {"match_phrase": {"title": "black"}}, "weight": 2}],
            }
        },
        "sort": ["_score", {"year": {"order": "desc", "missing": "_last"}}],
        "aggs": {"b": {"filter": {"range": {"year": {"gte": 2000}}}}},
        "track_total_hits": True,
    }
    response = api.post(passthrough, json=body, headers=CLIENT)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["hits"]["total"]["value"] > 0


def test_a_search_timeout_reaches_opensearch_and_a_histogram_is_capped(api, passthrough, catalog):
    """``?timeout=5s`` was a 503 and a year histogram over 0-200,000 a 503 ("OpenSearch busy")."""
    response = api.post(f"{passthrough}?timeout=5s", json={"query": {"match": {"title": "black"}}}, headers=CLIENT)
    assert response.status_code == 200 and response.get_json()["timed_out"] is False
    bounds = {"min": 0, "max": 200_000}
    body = {"size": 0, "aggs": {"y": {"histogram": {"field": "year", "interval": 1, "extended_bounds": bounds}}}}
    response = api.post(passthrough, json=body, headers=CLIENT)
    assert (
        response.status_code == 400 and response.get_json()["error"]["field"] == "body.aggs.y.histogram.extended_bounds"
    )


def test_facets_a_storefront_shows_still_work(api, passthrough, catalog):
    body = {"size": 0, "aggs": {"types": {"terms": {"field": "article_type", "size": 10}}}}
    buckets = api.post(passthrough, json=body, headers=CLIENT).get_json()["aggregations"]["types"]["buckets"]
    assert {b["key"] for b in buckets} >= {"Backpacks", "Watches"}  # as the catalog spells them


def test_events_need_a_client_key_and_only_move_that_clients_users(api, catalog):
    query = "/search?q=backpack&size=5"
    watches = [pid for pid, row in catalog.items() if row["article_type"] == "Watches"][:5]
    victim = api.get(f"{query}&user_id=u-victim", headers=CLIENT).get_json()
    assert api.post("/events", json=purchases("u-victim", watches)).status_code == 401
    # another storefront's user of the same name is another user
    assert api.post("/events", json=purchases("u-victim", watches) * 4, headers=RIVAL).status_code == 202
    after = api.get(f"{query}&user_id=u-victim", headers=CLIENT).get_json()
    assert [h["id"] for h in after["hits"]] == [h["id"] for h in victim["hits"]]
    assert after["personalised"] is False
    assert api.get(f"{query}&user_id=u-victim", headers=RIVAL).get_json()["personalised"] is True
    # and nobody reads a user's personalisation without a client key
    assert api.get(f"{query}&user_id=u-victim").status_code == 401
    # forgetting is per client too: the rival forgets its own u-victim only
    assert api.post("/events", json=purchases("u-victim", watches), headers=CLIENT).status_code == 202
    assert api.delete("/users/u-victim", headers=RIVAL).get_json()["events_deleted"] == 20
    assert api.get(f"{query}&user_id=u-victim", headers=RIVAL).get_json()["personalised"] is False
    assert api.get(f"{query}&user_id=u-victim", headers=CLIENT).get_json()["personalised"] is True


def test_events_are_checked_whole_before_anything_is_written(api, search_settings, catalog):
    client = make_client(search_settings)

    def stored() -> int:
        client.indices.refresh(index=search_settings.events_alias)
        return client.count(index=search_settings.events_alias)["count"]

    before = stored()
    good = purchases("u-checked", list(catalog)[:1])[0]
    for bad, field in (
        ({**good, "event_attributes": {"object": {"object_id": "no-such-product"}}}, "events[1].event_attributes"),
        ({**good, "timestamp": "2099-01-01T00:00:00Z"}, "events[1].timestamp"),
        ({**good, "timestamp": "2001-01-01T00:00:00Z"}, "events[1].timestamp"),
        ({**good, "application": "rival"}, "events[1].application"),
    ):
        response = api.post("/events", json=[good, bad], headers=CLIENT)
        assert response.status_code == 400 and response.get_json()["field"].startswith(field)
    assert stored() == before


def test_without_redis_search_is_unpersonalised_and_events_are_503(search_settings, catalog):
    down = search_settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})
    api = create_app(services=Services.from_settings(down)).test_client()
    response = api.get("/search?q=shoes&user_id=u1", headers=CLIENT)
    assert response.status_code == 200
    body = response.get_json()
    assert body["hits"] and body["personalised"] is False and "Redis" in body["degraded"]["personalisation"]
    response = api.post("/events", json=purchases("u1", list(catalog)[:1]), headers=CLIENT)
    assert response.status_code == 503 and response.headers["Retry-After"]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("post", "/search", {}),
        ("post", "/events", CLIENT),
        ("post", "/products", MERCHANT),
        ("post", "{passthrough}", CLIENT),
        ("put", "/profiles/deep", ADMIN),
        ("post", "/eval", ADMIN),
    ],
)
def test_deeply_nested_json_is_a_400(api, passthrough, method, path, headers):
    response = getattr(api, method)(
        path.format(passthrough=passthrough), data=DEEP, content_type="application/json", headers=headers
    )
    body = response.get_json()
    message = body["error"]["reason"] if path == "{passthrough}" else body["message"]  # OpenSearch's shape there
    assert response.status_code == 400 and "nested" in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"q": "x", "size": True}, "size"),
        ({"q": "x", "size": 5.9}, "size"),
        ({"q": "x", "explain": "maybe"}, "explain"),
        ({"q": "x", "colour": {"$ne": "Black"}}, "colour"),
    ],
)
def test_search_types_are_strict(api, catalog, body, field):
    response = api.post("/search", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field


@pytest.mark.parametrize("name", ["qrels\x00.tsv", "q" * 5000])
def test_judgment_file_names_are_checked(api, name):
    response = api.post("/eval", json={"qrels": name}, headers=ADMIN)
    assert response.status_code == 400 and response.get_json()["field"] == "qrels"


def test_not_found_names_the_field_and_no_physical_index(api, search_settings, catalog):
    response = api.get("/search?q=x&profile=nosuchprofile")
    assert response.status_code == 404 and response.get_json()["field"] == "profile"
    response = api.get("/products/no-such-product?merchant=fashion", headers=ADMIN)
    assert response.status_code == 404 and response.get_json()["field"] == "product_id"
    assert f"{search_settings.products_alias}-" not in response.get_data(as_text=True)


def test_a_photo_strip_is_refused_before_it_is_resized(api, catalog):
    strip = io.BytesIO()
    Image.new("L", (6000, 1)).save(strip, format="PNG")  # ~100 bytes, 6,000 pixels
    response = api.post("/search", data={"photo": (io.BytesIO(strip.getvalue()), "strip.png")})
    assert response.status_code == 400 and response.get_json()["field"] == "photo"


def test_a_large_png_search_is_refused_from_its_header_and_a_malformed_one_is_a_400(api, catalog):
    """A 115 KB PNG of 6300x6300 cost 1.8 s of CPU on an anonymous search; an 80-byte PNG whose IHDR
    says length 1 was a 500 with a traceback (the probe of 2026-12-05)."""
    large = io.BytesIO()
    Image.new("L", (6300, 6300)).save(large, format="PNG")
    response = api.post("/search", data={"photo": (io.BytesIO(large.getvalue()), "large.png")})
    assert response.status_code == 400 and response.get_json()["field"] == "photo"
    assert "6300x6300" in response.get_json()["message"]
    broken = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x01IHDR" + bytes(17) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    response = api.post("/search", data={"photo": (io.BytesIO(broken), "broken.png")})
    assert response.status_code == 400 and response.get_json()["field"] == "photo"


def test_bodies_over_an_endpoints_limit_are_413_in_json(api):
    big = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    response = api.post("/events", data=big, content_type="application/json", headers=CLIENT)
    assert response.status_code == 413 and response.get_json()["error"] == "request_entity_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/engineers",
        "/ui/engineers/profiles/default",
        "/ui/engineers/compare?q=bag",
        "/ui/engineers/runs/6b3a0d0e-1f2a-4c3b-9d4e-5f6a7b8c9d0e",
    ],
)
@pytest.mark.parametrize("headers", [{}, MERCHANT, CLIENT])
def test_the_engineers_pages_need_the_admin_key(api, path, headers):
    response = api.get(path, headers=headers)
    assert response.status_code == 401 and 'data-status="401"' in response.get_data(as_text=True)
    form = {"name": "x", "profile": "{}"}
    assert api.post("/ui/engineers/profiles", data=form, headers={**headers, **SAME_ORIGIN}).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/ui/engineers/runs/not-a-uuid",
        "/ui/engineers/runs/6b3a0d0e-1f2a-4c3b-9d4e-5f6a7b8c9d0e",  # no such run: Celery would say PENDING forever
        "/ui/engineers/runs/6b3a0d0e-1f2a-4c3b-9d4e-5f6a7b8c9d0e/..%2f..%2fsecret.png",
        "/ui/engineers/runs/6b3a0d0e-1f2a-4c3b-9d4e-5f6a7b8c9d0e/eval.json",
    ],
)
def test_runs_and_their_plots_are_found_by_id_and_name_only(api, path):
    response = api.get(path, headers=ADMIN)
    assert response.status_code == 404


def test_a_console_script_asking_for_json_gets_the_apis_error(api):
    response = api.get("/ui/engineers/runs/x/status", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorised"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://localhost.evil.example"},
        {},  # a form with neither: not from a console page
    ],
)
def test_console_forms_from_another_site_are_refused_login_included(api, catalog, headers):
    """The probe of 2026-12-05: a cross-site POST with the cookie saved a profile and deleted a
    product, and POST /ui/key set any key (login CSRF); SameSite alone was the guard."""
    api.set_cookie("hybrid_search_key", "dev-admin-key", path="/ui")
    saved = api.post("/ui/engineers/profiles", data={"name": "csrf", "profile": "{}"}, headers=headers)
    assert saved.status_code == 403
    login = api.post("/ui/key", data={"key": "attacker-key", "next": "/ui/merchant"}, headers=headers)
    assert login.status_code == 403 and "Set-Cookie" not in login.headers
    api.delete_cookie("hybrid_search_key", path="/ui")


def test_the_console_login_stays_on_the_console_and_its_cookie_on_its_pages(api, catalog):
    response = api.post("/ui/key", data={"key": "dev-merchant-key", "next": "/ui/merchant?x=1"}, headers=SAME_ORIGIN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/ui/merchant?x=1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    for target in ("https://evil.example/", "//evil.example", "/ui\r\nSet-Cookie: x=1", "/uix", "javascript:1"):
        response = api.post("/ui/key", data={"key": "dev-merchant-key", "next": target}, headers=SAME_ORIGIN)
        assert response.status_code == 302 and response.headers["Location"].endswith("/ui/search"), target


def test_the_console_cookie_carries_a_session_id_never_the_key_and_signing_out_ends_it(api, catalog):
    """The probe of 2026-12-05: the cookie held the raw key, so a stolen cookie was the key itself,
    for as long as the key lived; and any unchecked key was set."""
    unknown = api.post("/ui/key", data={"key": "attacker-key", "next": "/ui/merchant"}, headers=SAME_ORIGIN)
    assert unknown.status_code == 401 and "Set-Cookie" not in unknown.headers
    login = api.post("/ui/key", data={"key": "dev-merchant-key", "next": "/ui/merchant"}, headers=SAME_ORIGIN)
    assert login.status_code == 302
    session_id = api.get_cookie("hybrid_search_key", path="/ui").value
    assert "dev-merchant-key" not in login.headers["Set-Cookie"] and len(session_id) >= 40
    assert api.get("/ui/merchant").status_code == 200  # the session is the merchant's
    assert api.post("/ui/key", data={"key": "", "next": "/ui/search"}, headers=SAME_ORIGIN).status_code == 302
    api.set_cookie("hybrid_search_key", session_id, path="/ui")  # a copy of the cookie, kept after signing out
    assert api.get("/ui/merchant").status_code == 401
    api.set_cookie("hybrid_search_key", "dev-merchant-key", path="/ui")  # the key itself is no session
    assert api.get("/ui/merchant").status_code == 401
    api.delete_cookie("hybrid_search_key", path="/ui")


def test_console_pages_forbid_framing_sniffing_and_foreign_scripts(api, catalog):
    headers = api.get("/ui/search").headers
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]

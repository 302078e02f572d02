"""Property-based fuzzing of every endpoint that takes input, on the real node and Redis: whatever
arrives, the answer is never a 5xx, and every 4xx is our JSON error shape (OpenSearch's on the routes that
stand in for its REST API)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_search.api import create_app
from hybrid_search.stores.services import Services

ADMIN = {"X-API-Key": "dev-admin-key"}
CLIENT = {"X-API-Key": "dev-client-key"}
MERCHANT = {"X-API-Key": "dev-merchant-key"}
SEARCH_FIELDS = [
    "q",
    "like",
    "user_id",
    "colour",
    "article_type",
    "merchant",
    "price_min",
    "price_max",
    "page",
    "size",
    "profile",
    "explain",
    "engine",
    "facets",
    "sort",
]
EVENT_FIELDS = ["action_name", "user_id", "client_id", "session_id", "timestamp", "application", "event_attributes"]
DSL_KEYS = ["query", "match", "term", "bool", "filter", "aggs", "terms", "field", "size", "from", "sort", "_source"]

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def objects(keys: list[str]) -> st.SearchStrategy[dict]:
    """Objects whose keys are mostly the endpoint's own, with any values, sometimes nested."""
    key = st.sampled_from(keys) | st.text(max_size=12)
    return st.dictionaries(
        key, json_values | st.dictionaries(st.sampled_from(keys), json_values, max_size=3), max_size=6
    )


FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def api(search_settings, catalog):
    return create_app(services=Services.from_settings(search_settings)).test_client()


def assert_handled(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) >= {"error", "message"} and "Traceback" not in body["message"]


def assert_handled_as_opensearch(response) -> None:
    """A 4xx in OpenSearch's error shape (the routes that stand in for its REST API)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["type"] and error["root_cause"][0]["reason"] == error["reason"]
        assert "Traceback" not in error["reason"]


@FUZZ
@given(body=objects(SEARCH_FIELDS))
def test_search_bodies(api, body):
    assert_handled(api.post("/search", json=body, headers=CLIENT))


@FUZZ
@given(params=st.dictionaries(st.sampled_from(SEARCH_FIELDS) | st.text(max_size=8), st.text(max_size=40), max_size=5))
def test_search_query_strings(api, params):
    assert_handled(api.get("/search", query_string=params, headers=CLIENT))


@FUZZ
@given(body=objects(EVENT_FIELDS) | st.lists(objects(EVENT_FIELDS), max_size=3))
def test_events(api, body):
    assert_handled(api.post("/events", json=body, headers=CLIENT))


@FUZZ
@given(body=objects(DSL_KEYS), hybrid=st.none() | objects(SEARCH_FIELDS))
def test_passthrough(api, search_settings, body, hybrid):
    if hybrid is not None:
        body = {**body, "ext": {"hybrid": hybrid}}
    assert_handled_as_opensearch(api.post(f"/{search_settings.products_alias}/_search", json=body, headers=CLIENT))


@FUZZ
@given(searches=st.lists(st.tuples(objects(["index"]), objects(DSL_KEYS)), max_size=3), raw=st.text(max_size=40))
def test_msearch(api, search_settings, searches, raw):
    lines = [json.dumps(part) for pair in searches for part in pair]
    for body in ("\n".join(lines) + "\n", raw):
        assert_handled_as_opensearch(api.post("/_msearch", data=body, headers=CLIENT))


@FUZZ
@given(body=objects(["weights", "normalisation", "combination", "window", "rerank_weight", "classes", "note"]))
def test_profiles(api, body):
    assert_handled(api.put("/profiles/fuzzed", json=body, headers=ADMIN))


@FUZZ
@given(body=objects(["queries", "qrels", "profiles", "legs", "name", "folds", "rounds", "intents", "save"]))
def test_evaluation_runs(api, body):
    body.pop("save", None)  # a valid run would be queued; what is checked is the request
    assert_handled(api.post("/eval", json=body, headers=ADMIN))


@FUZZ
@given(
    rows=st.lists(objects(["product_id", "title", "price", "year", "category_path", "attributes", "image"]), max_size=3)
)
def test_product_uploads_of_invalid_rows(api, rows):
    # rows with a valid id and title would be written: each fuzzed row lacks a title
    rows = [{k: v for k, v in row.items() if k != "title"} for row in rows]
    assert_handled(api.post("/products", data=json.dumps(rows), content_type="application/json", headers=MERCHANT))

import pytest

from hybrid_search.api.passthrough import HIDDEN_FIELDS, MAX_SIZE, guarded_body, guarded_params
from hybrid_search.errors import InvalidInputError

MATCH = {"match": {"title": "backpack"}}


def rejected(body: dict, admin: bool = False) -> str:
    with pytest.raises(InvalidInputError) as info:
        guarded_body(body, admin)
    return info.value.field


def test_plain_searches_pass_with_the_hidden_fields_excluded():
    body = {
        "query": {"bool": {"must": [MATCH], "filter": [{"term": {"colour": "Black"}}]}},
        "size": 20,
        "sort": ["_score", {"price": "asc"}],
        "aggs": {"colours": {"terms": {"field": "colour", "size": 20}, "aggs": {"p": {"avg": {"field": "price"}}}}},
        "highlight": {"fields": {"title": {}}},
    }
    out = guarded_body(body, admin=False)
    assert out["query"] == body["query"] and out["aggs"] == body["aggs"]
    assert set(out["_source"]["excludes"]) == set(HIDDEN_FIELDS)
    assert {"text_vector", "fused_vector", "content_hash"} <= set(HIDDEN_FIELDS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (False, False),
        ("title", {"includes": ["title"], "excludes": list(HIDDEN_FIELDS)}),
        (["title", "text_vector"], {"includes": ["title", "text_vector"], "excludes": list(HIDDEN_FIELDS)}),
        (
            {"includes": ["*"], "excludes": ["description"]},
            {"includes": ["*"], "excludes": ["description", *HIDDEN_FIELDS]},
        ),
    ],
)
def test_every_source_form_keeps_the_hidden_fields_out(source, expected):
    # OpenSearch applies excludes after includes: asking for text_vector by name still leaves it out
    assert guarded_body({"query": MATCH, "_source": source}, admin=False)["_source"] == expected


def test_the_admin_sees_vectors_and_aggregates_any_field():
    body = {"query": MATCH, "_source": ["text_vector"], "aggs": {"m": {"terms": {"field": "merchant_id"}}}}
    assert guarded_body(body, admin=True) == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"script_fields": {"x": {"script": "1"}}}, "body.script_fields"),
        ({"docvalue_fields": ["text_vector"]}, "body.docvalue_fields"),
        ({"fields": ["*"]}, "body.fields"),
        (
            {"query": {"function_score": {"query": MATCH, "script_score": {"script": "1"}}}},
            "body.query.function_score.script_score",
        ),
        (
            {"query": {"bool": {"filter": [{"script": {"script": "while(true){}"}}]}}},
            "body.query.bool.filter[0].script",
        ),
        (
            {"query": {"terms": {"user_id": {"index": "product-events-v1", "id": "1", "path": "user_id"}}}},
            "body.query.terms.user_id.index",
        ),
        (
            {"query": {"more_like_this": {"like": [{"_index": ".tasks", "_id": "1"}]}}},
            "body.query.more_like_this.like[0]._index",
        ),
        ({"query": {"wrapper": {"query": "eyJtYXRjaF9hbGwiOnt9fQ=="}}}, "body.query.wrapper"),
        ({"runtime_mappings": {}}, "body.runtime_mappings"),
        ({"size": 10_000}, "body.size"),
        ({"size": True}, "body.size"),
        ({"from": 995, "size": 10}, "body.from"),
        ({"aggs": {"users": {"terms": {"field": "user_id"}}}}, "body.aggs.users.terms.field"),
        ({"aggs": {"m": {"terms": {"field": "merchant_id"}}}}, "body.aggs.m.terms.field"),
        ({"aggs": {"c": {"terms": {"field": "colour", "size": 100_000}}}}, "body.aggs.c.terms.size"),
        ({"aggs": {"t": {"top_hits": {}}}}, "body.aggs.t.top_hits"),
        (
            {"aggs": {"c": {"terms": {"field": "colour"}, "aggs": {"s": {"scripted_metric": {}}}}}},
            "body.aggs.c.aggs.s.scripted_metric",
        ),
        (
            {"aggs": {"c": {"terms": {"field": "colour"}, "aggs": {"m": {"cardinality": {"field": "merchant_id"}}}}}},
            "body.aggs.c.aggs.m.cardinality.field",
        ),
        ({"highlight": {"fields": {"status_reason": {}}}}, "body.highlight.fields.status_reason"),
        ({"highlight": {"fields": {"*": {}}}}, "body.highlight.fields.*"),
    ],
)
def test_what_is_not_a_read_of_the_catalog_is_a_400_naming_the_part(body, field):
    assert rejected(body) == field


def test_scripts_are_refused_to_the_admin_too():
    assert rejected({"script_fields": {"x": {"script": "1"}}}, admin=True) == "body.script_fields"


def test_query_string_parameters_are_an_allow_list_with_the_same_caps():
    assert guarded_params({"size": "5", "track_total_hits": "true"}) == {"size": "5", "track_total_hits": "true"}
    for params, field in (
        ({"_source": "text_vector"}, "_source"),
        ({"size": str(MAX_SIZE + 1)}, "size"),
        ({"q": "*"}, "q"),
    ):
        with pytest.raises(InvalidInputError) as info:
            guarded_params(params)
        assert info.value.field == field

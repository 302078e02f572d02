import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from hybrid_search.api.passthrough import (
    MAX_KEEP_ALIVE_S,
    MAX_SCROLL_SIZE,
    MAX_SIZE,
    guarded_body,
    guarded_params,
    keep_alive_seconds,
)
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.stores.opensearch.queries import HIDDEN_FIELDS

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


def test_a_scroll_pages_up_to_a_thousand_hits_kept_alive_ten_minutes_at_most():
    """What the clients' ``scan`` sends (size 1000, scroll 5m) passes; a plain search stays at 100."""
    assert guarded_params({"size": "1000", "scroll": "5m"}) == {"size": "1000", "scroll": "5m"}
    assert guarded_body({"size": MAX_SCROLL_SIZE, "sort": "_doc"}, admin=False, scroll=True)["size"] == 1000
    assert keep_alive_seconds("500ms", "scroll") == 0.5 and keep_alive_seconds("10m", "scroll") == MAX_KEEP_ALIVE_S
    for params, field in (
        ({"size": str(MAX_SCROLL_SIZE + 1), "scroll": "1m"}, "size"),
        ({"size": "1000"}, "size"),
        ({"scroll": "11m"}, "scroll"),
        ({"scroll": "0s"}, "scroll"),
        ({"scroll": "forever"}, "scroll"),
    ):
        with pytest.raises(InvalidInputError) as info:
            guarded_params(params)
        assert info.value.field == field
    with pytest.raises(InvalidInputError) as info:
        guarded_body({"size": MAX_SIZE + 1}, admin=False)
    assert info.value.field == "body.size"


def test_a_script_in_a_terms_set_is_refused_naming_its_place():
    """The probe's body: Painless in ``minimum_should_match_script`` ran through the deny-list."""
    body = {
        "size": 0,
        "track_total_hits": True,
        "query": {
            "terms_set": {
                "colour": {
                    "terms": ["black"],
                    "minimum_should_match_script": {"source": "doc['content_hash'].value.startsWith('a') ? 1 : 5"},
                }
            }
        },
    }
    assert rejected(body) == "body.query.terms_set.colour.minimum_should_match_script"
    assert rejected(body, admin=True) == "body.query.terms_set.colour.minimum_should_match_script"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"query_string": {"query": "content_hash:a*"}}}, "body.query.query_string"),
        ({"query": {"intervals": {"title": {"match": {"query": "bag"}}}}}, "body.query.intervals"),
        ({"query": {"regexp": {"title": ".*"}}}, "body.query.regexp"),
        (
            {"query": {"bool": {"should": [MATCH, {"term": {"content_hash": "a"}}]}}},
            "body.query.bool.should[1].term.content_hash",
        ),
        ({"query": {"range": {"merchant_id": {"gte": "a"}}}}, "body.query.range.merchant_id"),
        (
            {"query": {"match": {"title": {"query": "bag", "analyzer": {"tokenizer": "x"}}}}},
            "body.query.match.title.analyzer",
        ),
        ({"query": {"match": {"title": "bag", "colour": "Black"}}}, "body.query.match"),
        ({"query": {"knn": {"behaviour_vector": {"vector": [0.1], "k": 5}}}}, "body.query.knn.behaviour_vector"),
        ({"query": {"knn": {"text_vector": {"vector": [0.1], "k": 50_000}}}}, "body.query.knn.text_vector.k"),
        (
            {"query": {"multi_match": {"query": "bag", "fields": ["title", "status_reason^2"]}}},
            "body.query.multi_match.fields[1]",
        ),
        ({"query": {"multi_match": {"query": "bag"}}}, "body.query.multi_match.fields"),
        (
            {
                "query": {
                    "function_score": {"query": MATCH, "functions": [{"field_value_factor": {"field": "click_rate"}}]}
                }
            },
            "body.query.function_score.functions[0].field_value_factor.field",
        ),
        ({"post_filter": {"term": {"status": "failed"}}}, "body.post_filter.term.status"),
        ({"sort": [{"content_hash": "asc"}]}, "body.sort[0].content_hash"),
        ({"sort": "model_version"}, "body.sort"),
        ({"sort": [{"text_vector": "asc"}]}, "body.sort[0].text_vector"),
        ({"sort": [{"_script": {"script": "1", "type": "number"}}]}, "body.sort[0]._script.script"),
        ({"sort": [{"_geo_distance": {"loc": [0, 0]}}]}, "body.sort[0]._geo_distance"),
        (
            {"aggs": {"by": {"filters": {"filters": {"a": {"term": {"merchant_id": "acme"}}}}}}},
            "body.aggs.by.filters.filters.a.term.merchant_id",
        ),
        ({"aggs": {"s": {"filter": {"term": {"status": "ready"}}}}}, "body.aggs.s.filter.term.status"),
        ({"aggs": {"t": {"terms": {"field": "colour", "script": "1"}}}}, "body.aggs.t.terms.script"),
        ({"aggs": {"t": {"terms": {"field": "colour", "collect_mode": "x"}}}}, "body.aggs.t.terms.collect_mode"),
        (
            {
                "aggs": {
                    "y": {"histogram": {"field": "year", "interval": 1, "extended_bounds": {"min": 0, "max": 200_000}}}
                }
            },
            "body.aggs.y.histogram.extended_bounds",
        ),
        ({"search_after": [{"a": 1}]}, "body.search_after[0]"),
    ],
)
def test_the_passthrough_is_an_allow_list_of_query_types_parameters_and_fields(body, field):
    assert rejected(body) == field


def test_what_a_storefront_sends_passes():
    body = {
        "query": {
            "function_score": {
                "query": {
                    "bool": {
                        "must": [
                            {"multi_match": {"query": "black bag", "fields": ["title^2", "brand", "description.zh"]}}
                        ],
                        "filter": [
                            {"terms": {"colour": ["Black", "Navy Blue"]}},
                            {"range": {"price": {"gte": 10, "lte": 100}}},
                            {"exists": {"field": "attributes.material"}},
                            {
                                "terms_set": {
                                    "article_type": {"terms": ["Backpacks"], "minimum_should_match_field": "year"}
                                }
                            },
                        ],
                        "should": [{"simple_query_string": {"query": "school", "fields": ["title"]}}],
                        "must_not": {"term": {"has_image": False}},
                    }
                },
                "functions": [
                    {"field_value_factor": {"field": "popularity", "modifier": "log1p", "missing": 0}},
                    {"filter": {"match_phrase": {"title": "laptop sleeve"}}, "weight": 2},
                    {"gauss": {"created_at": {"origin": "now", "scale": "30d"}}},
                ],
                "boost_mode": "multiply",
            }
        },
        "post_filter": {"dis_max": {"queries": [{"match_all": {}}, {"ids": {"values": ["fashion/1"]}}]}},
        "sort": ["_score", {"price": {"order": "asc", "missing": "_last"}}, "title.raw"],
        "aggs": {
            "price": {"histogram": {"field": "price", "interval": 50, "extended_bounds": {"min": 0, "max": 1000}}},
            "sale": {"filter": {"range": {"price": {"lt": 20}}}, "aggs": {"c": {"terms": {"field": "colour"}}}},
            "kinds": {"filters": {"filters": {"bags": {"term": {"article_type": "Backpacks"}}}}},
        },
        "highlight": {"fields": {"title": {}}, "highlight_query": MATCH},
        "search_after": [1.5, "fashion/9"],
    }
    assert guarded_body(body, admin=False)["query"] == body["query"]
    knn = {"knn": {"text_vector": {"vector": [0.1, 0.2], "k": 10, "filter": {"term": {"gender": "Women"}}}}}
    assert guarded_body({"query": knn}, admin=False)["query"] == knn


def test_a_catalog_schemas_declared_fields_are_a_storefronts_to_read():
    """A furniture shop's storefront filters, counts, sorts and searches its own fields (specs.<name>)."""
    body = {
        "query": {
            "bool": {
                "must": [{"multi_match": {"query": "oak table", "fields": ["title", "specs_text"]}}],
                "filter": [{"terms": {"specs.material": ["oak"]}}, {"range": {"specs.seats": {"gte": 4}}}],
            }
        },
        "sort": [{"specs.seats": "desc"}],
        "aggs": {"materials": {"terms": {"field": "specs.material"}}},
        "highlight": {"fields": {"specs_text": {}}},
    }
    assert guarded_body(body, admin=False)["query"] == body["query"]
    assert rejected({"query": {"term": {"specsx.material": "oak"}}}) == "body.query.term.specsx.material"


def test_neural_search_queries_are_refused_with_the_way_to_the_blend():
    """A hybrid query without a search pipeline returned each hit once per leg with raw scores; a
    neural query failed in the node ("modelId is marked non-null but is null") as a 502."""
    knn = {"knn": {"text_vector": {"vector": [0.1, 0.2], "k": 10}}}
    for query in ({"hybrid": {"queries": [MATCH, knn]}}, {"neural": {"text_vector": {"query_text": "bag", "k": 5}}}):
        with pytest.raises(InvalidInputError) as info:
            guarded_body({"query": query}, admin=True)
        assert info.value.field == f"body.query.{next(iter(query))}" and "ext.hybrid" in str(info.value)


def test_source_parameters_become_the_bodys_source_and_hidden_fields_stay_out():
    from hybrid_search.api.passthrough import source_params

    body, rest = source_params({"query": MATCH}, {"_source_includes": "title,colour", "size": "3"})
    assert rest == {"size": "3"} and body["_source"] == {"includes": ["title", "colour"]}
    assert guarded_body(body, admin=False)["_source"] == {
        "includes": ["title", "colour"],
        "excludes": list(HIDDEN_FIELDS),
    }
    assert source_params({}, {"_source": "false"})[0] == {"_source": False}
    assert source_params({}, {"_source": "title"})[0] == {"_source": {"includes": ["title"]}}
    assert source_params({}, {"_source_excludes": "price"})[0] == {"_source": {"excludes": ["price"]}}
    assert source_params({}, {"size": "3"}) == ({}, {"size": "3"})
    with pytest.raises(InvalidInputError) as info:
        source_params({"_source": ["title"]}, {"_source": "brand"})
    assert info.value.field == "_source"


def test_the_admin_filters_and_sorts_on_any_field_but_runs_no_code():
    body = {"query": {"term": {"status": "failed"}}, "sort": [{"content_hash": "asc"}]}
    assert guarded_body(body, admin=True) == body
    assert rejected({"query": {"query_string": {"query": "x"}}}, admin=True) == "body.query.query_string"


# A grammar of query DSL: what a storefront sends, and poisons (code, other indices, hidden fields,
# DSL the walk cannot read, types OpenSearch may add) placed anywhere a query goes.
FIELDS = st.sampled_from(["title", "title.zh", "colour", "price", "article_type", "brand.keyword", "attributes.size"])
VALUES = st.one_of(st.text(max_size=8), st.integers(0, 100), st.booleans())
LEAVES = st.one_of(
    st.builds(lambda f, v: ({"match": {f: str(v)}}, False), FIELDS, VALUES),
    st.builds(lambda f, v: ({"term": {f: {"value": v, "boost": 2}}}, False), FIELDS, VALUES),
    st.builds(lambda f, a, b: ({"range": {f: {"gte": a, "lte": b}}}, False), FIELDS, st.integers(), st.integers()),
    st.builds(lambda f, vs: ({"terms": {f: vs}}, False), FIELDS, st.lists(VALUES, max_size=3)),
    st.builds(lambda f: ({"exists": {"field": f}}, False), FIELDS),
    st.just(({"match_all": {}}, False)),
    st.builds(lambda k: ({"knn": {"text_vector": {"vector": [0.1, 0.2], "k": k}}}, False), st.integers(1, 100)),
)
POISONS = [
    {"script": {"script": {"source": "1"}}},
    {"terms_set": {"colour": {"terms": ["a"], "minimum_should_match_script": {"source": "1"}}}},
    {"query_string": {"query": "content_hash:a*"}},
    {"term": {"content_hash": "a"}},
    {"terms": {"colour": {"index": "product-events-v1", "id": "1", "path": "user_id"}}},
    {"more_like_this": {"like": "x"}},
    {"percolate": {"field": "q", "document": {}}},
    {"wrapper": {"query": "e30="}},
    {"regexp": {"title": ".*"}},
    {"knn": {"behaviour_vector": {"vector": [0.1], "k": 5}}},
    {"match": {"title": {"query": "x", "analyzer": {"type": "custom"}}}},
    {"function_score": {"query": {"match_all": {}}, "script_score": {"script": "1"}}},
    {"nested": {"path": "x", "query": {"match_all": {}}}},
    {"a_query_type_opensearch_adds": {"title": "x"}},
]
POISON = st.sampled_from(POISONS).map(lambda query: (query, True))


def compound(children):
    some = st.lists(children, min_size=1, max_size=3)
    poisoned = lambda trees: any(p for _, p in trees)  # noqa: E731
    return st.one_of(
        st.builds(
            lambda occur, cs: ({"bool": {occur: [c for c, _ in cs]}}, poisoned(cs)),
            st.sampled_from(["must", "should", "filter", "must_not"]),
            some,
        ),
        st.builds(lambda c: ({"constant_score": {"filter": c[0]}}, c[1]), children),
        st.builds(lambda cs: ({"dis_max": {"queries": [c for c, _ in cs]}}, poisoned(cs)), some),
        st.builds(
            lambda a, b: ({"boosting": {"positive": a[0], "negative": b[0], "negative_boost": 0.5}}, a[1] or b[1]),
            children,
            children,
        ),
        st.builds(
            lambda a, b: (
                {"function_score": {"query": a[0], "functions": [{"filter": b[0], "weight": 2}]}},
                a[1] or b[1],
            ),
            children,
            children,
        ),
        st.builds(lambda c: ({"knn": {"fused_vector": {"vector": [0.1], "k": 5, "filter": c[0]}}}, c[1]), children),
        st.builds(lambda cs: ({"dis_max": {"queries": [c for c, _ in cs]}}, poisoned(cs)), some),
        st.builds(lambda cs: ({"hybrid": {"queries": [c for c, _ in cs]}}, True), some),  # refused: ext.hybrid
    )


QUERIES = st.recursive(st.one_of(LEAVES, LEAVES, LEAVES, POISON), compound, max_leaves=8)
PLACES = [
    lambda q: {"query": q},
    lambda q: {"post_filter": q},
    lambda q: {"aggs": {"f": {"filter": q}}},
    lambda q: {"aggs": {"f": {"filters": {"filters": {"x": q}}}}},
    lambda q: {"highlight": {"fields": {"title": {}}, "highlight_query": q}},
]


@given(QUERIES, st.sampled_from(PLACES))
@examples(max_examples=400, deadline=None)
def test_no_query_outside_the_allow_list_passes_and_every_query_inside_it_does(tree, place):
    query, poisoned = tree
    body = place(query)
    if poisoned:
        with pytest.raises(InvalidInputError):
            guarded_body(body, admin=False)
    else:
        out = guarded_body(body, admin=False)
        assert {k: v for k, v in out.items() if k != "_source"} == body


def test_a_timeout_is_the_searchs_time_budget_in_the_body():
    """``?timeout=5s`` was a 503: the client library took it as its own socket timeout."""
    from hybrid_search.api.passthrough import with_search_timeout

    params = guarded_params({"timeout": "5s", "size": "3"})
    assert with_search_timeout({"query": MATCH}, params) == ({"query": MATCH, "timeout": "5s"}, {"size": "3"})
    for value in ("5", "soon", "5s; drop"):
        with pytest.raises(InvalidInputError) as info:
            guarded_params({"timeout": value})
        assert info.value.field == "timeout"
    assert rejected({"timeout": 5}) == "body.timeout"


def test_a_q_parameter_searches_the_storefronts_text_and_names_no_field():
    from hybrid_search.api.passthrough import query_param

    body, rest = query_param({"size": 3}, {"q": "black backpack", "timeout": "5s"})
    assert rest == {"timeout": "5s"} and body["size"] == 3
    assert body["query"]["simple_query_string"]["query"] == "black backpack"
    assert "title" in body["query"]["simple_query_string"]["fields"]
    assert guarded_body(body, admin=False)["query"] == body["query"]  # within the allow-list
    with pytest.raises(InvalidInputError) as info:
        query_param({"query": MATCH}, {"q": "bag"})
    assert info.value.field == "q"


def test_a_blended_hits_source_is_selected_as_opensearch_selects_it():
    from hybrid_search.api.passthrough import select_source

    source = {"title": "Bag", "colour": "Black", "price": 10.0}
    assert select_source(source, False) is None and select_source(source, True) == source
    assert select_source(source, {"includes": ["t*", "colour"]}) == {"title": "Bag", "colour": "Black"}
    assert select_source(source, {"includes": "title"}) == {"title": "Bag"}  # one pattern, not its letters
    assert select_source(source, {"include": ["price"]}) == {"price": 10.0}
    assert select_source(source, {"excludes": ["price", "content_hash"]}) == {"title": "Bag", "colour": "Black"}

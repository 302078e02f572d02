from hybrid_search.stores.opensearch.facets import SPELLING, respelled, with_spelling


def test_terms_over_a_folded_field_ask_for_its_spelling_at_any_depth():
    aggs = {
        "types": {"terms": {"field": "article_type", "size": 5}},
        "years": {"terms": {"field": "year"}},
        "black": {
            "filter": {"term": {"colour": "black"}},
            "aggregations": {"brands": {"terms": {"field": "brand.keyword"}}},
        },
    }
    out = with_spelling(aggs)
    assert out["types"]["aggs"] == {SPELLING: {"terms": {"field": "article_type.raw", "size": 1}}}
    assert out["years"] == aggs["years"]  # numbers keep their keys
    assert out["black"]["aggregations"]["brands"]["aggs"][SPELLING]["terms"]["field"] == "brand.raw"
    assert "aggs" not in aggs["types"]  # the storefront's body is left as it was


def test_a_terms_aggregations_own_sub_aggregations_are_kept_beside_the_spelling():
    out = with_spelling({"c": {"terms": {"field": "colour"}, "aggs": {"p": {"avg": {"field": "price"}}}}})
    assert set(out["c"]["aggs"]) == {"p", SPELLING}


def test_buckets_take_their_most_common_spelling_and_lose_the_question():
    answer = {
        "types": {
            "buckets": [
                {"key": "tshirts", "doc_count": 9, SPELLING: {"buckets": [{"key": "Tshirts", "doc_count": 9}]}},
                {"key": "n/a", "doc_count": 2, SPELLING: {"buckets": []}},  # a missing bucket: no spelling
            ]
        },
        "black": {
            "doc_count": 3,
            "sterms#brands": {"buckets": [{"key": "nike", f"sterms#{SPELLING}": {"buckets": [{"key": "Nike"}]}}]},
        },
    }
    out = respelled(answer)
    assert [b["key"] for b in out["types"]["buckets"]] == ["Tshirts", "n/a"]
    assert out["types"]["buckets"][0] == {"key": "Tshirts", "doc_count": 9}
    assert out["black"]["sterms#brands"]["buckets"] == [{"key": "Nike"}]  # typed_keys names it by type too

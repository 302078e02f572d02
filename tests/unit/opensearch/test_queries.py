from hybrid_search.opensearch.queries import build_bm25_query, build_filters, build_knn_query


def test_filters_are_terms_price_range_and_exclusions():
    query = build_filters({"colour": ("Black", "Navy Blue"), "gender": ()}, price_min=10, exclude_ids=["p1"])
    assert query == {
        "bool": {
            "filter": [{"terms": {"colour": ["Black", "Navy Blue"]}}, {"range": {"price": {"gte": 10}}}],
            "must_not": [{"ids": {"values": ["p1"]}}],
        }
    }


def test_user_text_is_only_ever_a_value():
    hostile = '"}}, "script": {"source": "boom"}, {"'
    body = build_bm25_query(hostile, build_filters({}), 50)
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == hostile
    assert "script" not in body["query"]["bool"]["must"][0]["multi_match"]
    assert body["size"] == 50
    assert "title.zh^2" in body["query"]["bool"]["must"][0]["multi_match"]["fields"]


def test_knn_carries_filters_into_the_graph_search_only_when_there_are_any():
    plain = build_knn_query("text_vector", [0.5, 0.25], 20, build_filters({}))
    assert plain["query"] == {"knn": {"text_vector": {"vector": [0.5, 0.25], "k": 20}}}
    filtered = build_knn_query("image_vector", [1, 0], 5, build_filters({"usage": ["Sports"]}))
    sports = {"bool": {"filter": [{"terms": {"usage": ["Sports"]}}]}}
    assert filtered["query"]["knn"]["image_vector"]["filter"] == sports
    assert filtered["_source"] == {"excludes": ["text_vector", "image_vector", "fused_vector", "behaviour_vector"]}

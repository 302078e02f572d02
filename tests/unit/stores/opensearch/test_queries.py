from hybrid_search.stores.opensearch.queries import (
    attribute_terms,
    build_attribute_query,
    build_bm25_query,
    build_filters,
    build_knn_query,
    expected_match,
    leg_body,
    named,
)


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
    query = build_bm25_query(hostile, build_filters({}))
    assert query["bool"]["must"][0]["multi_match"]["query"] == hostile
    assert "script" not in query["bool"]["must"][0]["multi_match"]
    assert "title.zh^2" in query["bool"]["must"][0]["multi_match"]["fields"]


def test_knn_carries_filters_into_the_graph_search_only_when_there_are_any():
    plain = build_knn_query("text_vector", [0.5, 0.25], 20, build_filters({}))
    assert plain == {"knn": {"text_vector": {"vector": [0.5, 0.25], "k": 20}}}
    filtered = build_knn_query("image_vector", [1, 0], 5, build_filters({"usage": ["Sports"]}))
    sports = {"bool": {"filter": [{"terms": {"usage": ["Sports"]}}]}}
    assert filtered["knn"]["image_vector"]["filter"] == sports


def test_knn_keeps_more_candidates_than_k_only_when_asked_for_more():
    wider = build_knn_query("text_vector", [1, 0], 50, build_filters({}), ef_search=100)
    assert wider["knn"]["text_vector"]["method_parameters"] == {"ef_search": 100}
    assert "method_parameters" not in build_knn_query("text_vector", [1, 0], 50, build_filters({}), ef_search=50)


def test_legs_read_ids_and_asked_fields_from_doc_values_never_stored_fields():
    voting = leg_body(20, build_knn_query("fused_vector", [1, 0], 20, build_filters({})), ("colour", "gender"))
    bm25 = leg_body(50, build_bm25_query("shirt", build_filters({})))
    ids = ["merchant_id", "product_id"]  # the document id is "<merchant_id>/<product_id>"
    for body, fields in ((voting, [*ids, "colour", "gender"]), (bm25, ids)):
        assert body["_source"] is False and body["stored_fields"] == "_none_"
        assert body["docvalue_fields"] == fields
        assert body["track_total_hits"] is False  # counting would score every match
    assert (voting["size"], bm25["size"]) == (20, 50)


def scored(query: dict) -> list[dict]:
    """The attribute query's disjunction: the one scoring clause of its ``must``, beside the filters
    (so Lucene can skip products that cannot reach the window)."""
    (disjunction,) = query["bool"]["must"]
    assert disjunction["bool"]["minimum_should_match"] == 1
    return disjunction["bool"]["should"]


def test_attribute_query_scores_each_value_by_weight_times_probability():
    filters = build_filters({"merchant_id": ["m"]})
    intent = {"article_type": {"Belts": 0.8, "Wallets": 0.1}, "gender": {"Men": 1.0}, "usage": {"Casual": 0.5}}
    query = build_attribute_query(intent, {"article_type": 3.0, "gender": 1.0, "usage": 0.0}, filters)
    should = scored(query)
    merchant = [c["bool"]["should"][0]["constant_score"] for c in should]
    clauses = {(tuple(m["filter"]["terms"].popitem()[1]), m["boost"]) for m in merchant}
    assert clauses == {(("Belts",), 2.4), (("Wallets",), 0.3), (("Men", "unisex"), 1.0)}  # usage weight 0: no clause
    assert query["bool"]["filter"] == [filters]
    empty = build_attribute_query({}, {"article_type": 3.0}, filters)
    assert scored(empty) == [{"match_none": {}}]


def test_a_head_a_catalog_schema_adds_scores_its_field_by_the_declared_weight():
    filters = build_filters({})
    intent = {"article_type": {"Table": 1.0}, "specs.material": {"oak": 0.5}}
    default = scored(build_attribute_query(intent, {"article_type": 3.0}, filters))
    assert {"constant_score": {"filter": {"terms": {"specs.material": ["oak"]}}, "boost": 0.5}} in default
    weighted = scored(build_attribute_query(intent, {"article_type": 3.0, "declared": 4.0}, filters))
    assert {"constant_score": {"filter": {"terms": {"specs.material": ["oak"]}}, "boost": 2.0}} in weighted
    off = scored(build_attribute_query(intent, {"article_type": 3.0, "declared": 0.0}, filters))
    assert not any("specs.material" in str(clause) for clause in off)


def test_a_tag_counts_by_its_confidence_beside_a_merchants_value():
    """A product that lacks the attribute matches by its tag (a tag is only ever beside a missing
    value), scored as the chance it is right: a merchant's Belts scores 2.4, a tag at 0.9 scores 2.16."""
    clause = expected_match("article_type", ["Belts"], 2.4)
    merchant, tagged = clause["bool"]["should"]
    assert merchant == {"constant_score": {"filter": {"terms": {"article_type": ["Belts"]}}, "boost": 2.4}}
    score = tagged["function_score"]
    assert score["query"] == {"terms": {"tags.article_type.value": ["Belts"]}} and score["boost_mode"] == "replace"
    assert score["functions"] == [
        {"field_value_factor": {"field": "tags.article_type.confidence", "missing": 0}, "weight": 2.4}
    ]
    assert expected_match("brand", ["Nike"], 1.0) == {
        "constant_score": {"filter": {"terms": {"brand": ["Nike"]}}, "boost": 1.0}
    }


def test_filters_read_the_taggers_values_only_when_asked_and_only_for_tagged_attributes():
    merchant = build_filters({"colour": ["Black"], "merchant_id": ["m"]})
    assert merchant["bool"]["filter"] == [{"terms": {"colour": ["Black"]}}, {"terms": {"merchant_id": ["m"]}}]
    predicted = build_filters({"colour": ["Black"], "merchant_id": ["m"]}, predicted=True)
    colour = {"terms": {"colour": ["Black"]}}, {"terms": {"tags.colour.value": ["Black"]}}
    assert predicted["bool"]["filter"] == [
        {"bool": {"should": list(colour), "minimum_should_match": 1}},
        {"terms": {"merchant_id": ["m"]}},  # no tagger names a merchant
    ]


def test_named_sets_the_name_where_each_query_kind_takes_it():
    knn = build_knn_query("text_vector", [1, 0], 5, build_filters({}))
    assert named(knn, "text") == {"knn": {"text_vector": {"vector": [1.0, 0.0], "k": 5, "_name": "text"}}}
    bm25 = named(build_bm25_query("shirt", build_filters({})), "bm25")
    assert bm25["bool"]["_name"] == "bm25" and bm25["bool"]["must"][0]["multi_match"]["query"] == "shirt"
    assert "_name" not in knn["knn"]["text_vector"]  # the original is left alone


def test_catalog_words_score_titles_within_the_article_types_the_query_asks_for():
    filters = build_filters({})
    intent = {"article_type": {"Shirts": 0.8, "Tshirts": 0.2}, "words": {"mark": 0.5, "taylor": 0.5}}
    query = build_attribute_query(intent, {"article_type": 3.0, "words": 2.0}, filters)
    clauses = [c["constant_score"] for c in scored(query) if "constant_score" in c]

    def of_type(article_type: str) -> dict:  # the merchant's type, or the tagger's where a product lacks one
        return attribute_terms("article_type", [article_type], predicted=True)

    def word_in_type(word: str, article_type: str) -> dict:
        return {"bool": {"filter": [{"match": {"title": word}}, of_type(article_type)]}}

    assert {"filter": word_in_type("mark", "Shirts"), "boost": 0.8} in clauses  # 2.0 x 0.5 x 0.8
    assert {"filter": word_in_type("taylor", "Tshirts"), "boost": 0.2} in clauses
    assert expected_match("article_type", ["Shirts"], 2.4) in scored(query)
    assert len(clauses) == 4 and len(scored(query)) == 6
    unweighted = build_attribute_query(intent, {"article_type": 3.0}, filters)
    assert len(scored(unweighted)) == 2  # words at weight 0 add nothing
    no_type = build_attribute_query({"words": {"levis": 1.0}}, {"words": 2.0}, filters)
    assert scored(no_type) == [{"match_none": {}}]  # a word counts only within a wanted type

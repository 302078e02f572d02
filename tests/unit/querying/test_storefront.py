"""The pure parts of the query side (``hybrid_search/querying/service.py``) that need no cluster."""

from hybrid_search.querying.legs import QueryInputs
from hybrid_search.querying.storefront import match_set_queries
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.facets import with_spelling
from hybrid_search.stores.opensearch.queries import build_all_words_query, build_filters, build_knn_query
from hybrid_search.stores.opensearch.search import match_set_body


def test_a_match_set_counts_every_word_typed_and_the_vector_candidates():
    filters = build_filters({"colour": ["Black"]})
    words = build_all_words_query("black backpack", filters)
    assert words["bool"]["must"][0]["multi_match"] | {"fields": None} == {
        "query": "black backpack",
        "fields": None,
        "type": "cross_fields",
        "operator": "and",
    }
    assert words["bool"]["filter"] == [filters]
    profile = BlendProfile(weights={"bm25": 0.3, "text": 0.5, "fused": 0.0, "image": 0.5, "attributes": 1.0})
    vector = [0.1, 0.2]
    typed = QueryInputs(typed="black backpack", text="black backpack", text_vector=vector, fused_vector=vector)
    matching = match_set_queries(typed, filters, profile)
    knn = build_knn_query("text_vector", vector, profile.window, filters)
    assert matching == [words, knn]  # not BM25's any-word matches, the attributes leg's, nor a weightless leg
    photo = QueryInputs(image_vector=vector, fused_vector=vector)
    assert match_set_queries(photo, filters, profile) == [
        build_knn_query("image_vector", vector, profile.window, filters)
    ]
    by_attributes = BlendProfile(weights={"attributes": 1.0})  # a photo ranked by the vote of its neighbours
    assert match_set_queries(photo, filters, by_attributes) == []
    assert match_set_queries(photo, filters, by_attributes, voting=True) == [
        build_knn_query(field, vector, by_attributes.window, filters) for field in ("fused_vector", "image_vector")
    ]
    body = match_set_body(matching, {"c": {"terms": {"field": "colour"}}})
    assert body["size"] == 0 and body["track_total_hits"] is True
    assert body["aggs"] == with_spelling({"c": {"terms": {"field": "colour"}}})  # values as the merchants spell them
    assert body["query"] == {"bool": {"should": matching, "minimum_should_match": 1}}


def test_a_post_filter_narrows_the_count_and_the_legs_not_the_aggregations():
    from hybrid_search.querying.storefront import Storefront
    from hybrid_search.stores.opensearch.search import SELECTED, _matched

    where, post = {"term": {"gender": "women"}}, {"term": {"colour": "black"}}
    assert Storefront(where, None, post).leg_filter == {"bool": {"filter": [where, post]}}
    assert Storefront(where).leg_filter == where and Storefront().leg_filter is None
    body = match_set_body([{"match_all": {}}], {"c": {"terms": {"field": "colour"}}}, post)
    assert body["aggs"] == {**with_spelling({"c": {"terms": {"field": "colour"}}}), SELECTED: {"filter": post}}
    answer = {"hits": {"total": {"value": 40}}, "aggregations": {"c": {"buckets": []}, SELECTED: {"doc_count": 7}}}
    matched = _matched(answer)
    assert matched.total == 7 and matched.aggregations == {"c": {"buckets": []}}


def test_facets_add_the_taggers_values_to_the_merchants_where_tags_are_counted():
    from hybrid_search.querying.storefront import FACET, TAGS, facet_counts, with_facets

    counted = with_facets(None, {"colour": "colour", "merchant_id": "merchant_id"}, predicted=True).aggs
    assert counted[f"{FACET}colour{TAGS}"] == {"terms": {"field": "tags.colour.value", "size": 50}}
    assert f"{FACET}merchant_id{TAGS}" not in counted  # no tagger names a merchant
    assert f"{FACET}colour{TAGS}" not in with_facets(None, {"colour": "colour"}, predicted=False).aggs
    answer = {
        f"{FACET}colour": {"buckets": [{"key": "Black", "doc_count": 5}, {"key": "Red", "doc_count": 1}]},
        f"{FACET}colour{TAGS}": {"buckets": [{"key": "Red", "doc_count": 6}, {"key": "Blue", "doc_count": 2}]},
    }
    assert facet_counts(("colour",), answer)["colour"] == [
        {"value": "Red", "count": 7},
        {"value": "Black", "count": 5},
        {"value": "Blue", "count": 2},
    ]

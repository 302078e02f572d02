"""The pure parts of the query side (``hybrid_search/search.py``) that need no cluster."""

from hybrid_search.legs import QueryInputs
from hybrid_search.opensearch.queries import build_all_words_query, build_filters
from hybrid_search.opensearch.search import match_set_body
from hybrid_search.profiles import BlendProfile
from hybrid_search.search import _match_set_queries


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
    ran = {"bm25": {"bm25": 1}, "text": {"text": 1}, "fused": {"fused": 1}, "attributes": {"attributes": 1}}
    profile = BlendProfile(weights={"bm25": 0.3, "text": 0.5, "fused": 0.0, "attributes": 1.0})
    matching = _match_set_queries(QueryInputs(typed="black backpack"), filters, profile, ran)
    assert matching == [words, {"text": 1}]  # not BM25's any-word matches, the attributes leg's, nor a weightless leg
    assert _match_set_queries(QueryInputs(), filters, profile, ran) == [{"text": 1}]  # a photo: its candidates
    body = match_set_body(matching, {"c": {"terms": {"field": "colour"}}})
    assert (
        body["size"] == 0 and body["track_total_hits"] is True and body["aggs"] == {"c": {"terms": {"field": "colour"}}}
    )
    assert body["query"] == {"bool": {"should": matching, "minimum_should_match": 1}}

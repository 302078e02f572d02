import numpy as np

from hybrid_search.querying.legs import LEG_NAMES, LEGS_BY_NAME, QueryInputs, legs_reading, ties_led_by
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.queries import KNN_EF_SEARCH, build_filters

FILTERS = build_filters({"gender": ["Men"]})
WEIGHTS = BlendProfile().attribute_weights


def test_every_leg_is_registered_once_and_profiles_weigh_exactly_those():
    assert LEG_NAMES == ("bm25", "text", "fused", "image", "attributes", "title_words", "title_phrase")
    assert set(BlendProfile.model_fields["weights"].annotation.__args__[0].__args__) == set(LEG_NAMES)


def test_a_leg_without_its_input_builds_nothing():
    inputs = QueryInputs(text="black shoes", text_vector=np.array([1.0, 0.0], dtype=np.float32))
    assert LEGS_BY_NAME["image"].query(inputs, FILTERS, 50, WEIGHTS) is None
    assert LEGS_BY_NAME["attributes"].query(inputs, FILTERS, 50, WEIGHTS) is None


def test_each_leg_reads_its_own_input_with_the_filters_and_window():
    inputs = QueryInputs(
        text="black shoes",
        typed="black shoes",
        text_vector=np.array([1.0, 0.0], dtype=np.float32),
        fused_vector=np.array([0.0, 1.0], dtype=np.float32),
        intent={"article_type": {"Casual Shoes": 1.0}},
    )
    bm25 = LEGS_BY_NAME["bm25"].query(inputs, FILTERS, 50, WEIGHTS)
    assert bm25["bool"]["must"][0]["multi_match"]["query"] == "black shoes" and bm25["bool"]["filter"] == [FILTERS]
    for leg, field, vector in (("text", "text_vector", [1.0, 0.0]), ("fused", "fused_vector", [0.0, 1.0])):
        knn = LEGS_BY_NAME[leg].query(inputs, FILTERS, 50, WEIGHTS)["knn"][field]
        assert (knn["vector"], knn["k"], knn["filter"]) == (vector, 50, FILTERS)
        assert knn["method_parameters"] == {"ef_search": KNN_EF_SEARCH} and KNN_EF_SEARCH > 50
    attributes = LEGS_BY_NAME["attributes"].query(inputs, FILTERS, 50, WEIGHTS)
    (disjunction,) = attributes["bool"]["must"]
    assert disjunction["bool"]["should"][0]["bool"]["should"][0]["constant_score"]["boost"] == WEIGHTS["article_type"]
    words = LEGS_BY_NAME["title_words"].query(inputs, FILTERS, 50, WEIGHTS)["bool"]
    assert words["must"][0]["match"]["title"] == {
        "query": "black shoes",
        "operator": "and",
        "fuzziness": "AUTO",
        "prefix_length": 1,
    }
    assert words["filter"] == [FILTERS]
    phrase = LEGS_BY_NAME["title_phrase"].query(inputs, FILTERS, 50, WEIGHTS)["bool"]["must"][0]
    assert phrase == {"match_phrase": {"title": {"query": "black shoes", "slop": 2}}}
    chinese = LEGS_BY_NAME["title_words"].query(QueryInputs(typed="黑色 双肩包"), FILTERS, 50, WEIGHTS)
    assert "fuzziness" not in chinese["bool"]["must"][0]["match"]["title"]  # a dictionary gloss must not drift


def test_legs_reading_a_set_of_inputs():
    assert legs_reading({"text", "text_vector", "fused_vector"}) == {"bm25", "text", "fused"}
    assert legs_reading({"typed"}) == {"title_words", "title_phrase"}
    assert legs_reading({"image_vector", "fused_vector", "intent"}) == {"image", "fused", "attributes"}
    assert legs_reading(set()) == set()


def test_bm25_forgives_slips_in_typed_words_but_not_in_a_chinese_querys_gloss():
    typed = LEGS_BY_NAME["bm25"].query(QueryInputs(text="black bakcpack"), FILTERS, 50, WEIGHTS)
    assert typed["bool"]["must"][0]["multi_match"] | {"query": ""} == {
        "query": "",
        "fields": typed["bool"]["must"][0]["multi_match"]["fields"],
        "type": "best_fields",  # a product's best field alone: Lucene can skip what cannot reach the window
        "fuzziness": "AUTO",
        "prefix_length": 1,
    }
    glossed = LEGS_BY_NAME["bm25"].query(QueryInputs(text="黑色双肩包 black backpack"), FILTERS, 50, WEIGHTS)
    assert "fuzziness" not in glossed["bool"]["must"][0]["multi_match"]


def test_bm25_searches_the_catalog_schemas_fields_at_their_boosts():
    built_in = LEGS_BY_NAME["bm25"].query(QueryInputs(text="oak"), FILTERS, 50, WEIGHTS)
    assert built_in["bool"]["must"][0]["multi_match"]["fields"][:2] == ["title^3", "title.zh^2"]
    fields = ("title^4", "title.german^4", "specs.material.english^2")
    own = LEGS_BY_NAME["bm25"].query(QueryInputs(text="eiche", text_fields=fields), FILTERS, 50, WEIGHTS)
    assert own["bool"]["must"][0]["multi_match"]["fields"] == list(fields)


def test_leaders_come_first_within_a_tie_and_no_score_changes():
    hits = [("a", 3.0), ("b", 2.0), ("c", 2.0), ("d", 2.0), ("e", 1.0)]
    leaders = [("d", 2.0), ("x", 2.0), ("y", 1.0)]  # the same query over other legs' hits
    assert ties_led_by(hits, leaders, 4) == [("a", 3.0), ("d", 2.0), ("x", 2.0), ("b", 2.0)]
    everything = [("a", 3.0), ("d", 2.0), ("x", 2.0), ("b", 2.0), ("c", 2.0), ("y", 1.0), ("e", 1.0)]
    assert ties_led_by(hits, leaders, 10) == everything
    assert ties_led_by(hits, [], 3) == hits[:3]


def test_only_the_words_the_lexicon_lacks_may_slip():
    inputs = QueryInputs(text="black bakcpack", typed="black bakcpack", slips=frozenset({"bakcpack"}))
    (best,) = LEGS_BY_NAME["bm25"].query(inputs, FILTERS, 50, WEIGHTS)["bool"]["must"]
    per_field = best["dis_max"]["queries"]
    assert "tie_breaker" not in best["dis_max"] and len(per_field) == 8  # the built-in fields, best alone
    assert per_field[0] == {
        "bool": {
            "should": [
                {"match": {"title": {"query": "black"}}},
                {"match": {"title": {"query": "bakcpack", "fuzziness": "AUTO", "prefix_length": 1}}},
            ],
            "boost": 3.0,
        }
    }
    words = LEGS_BY_NAME["title_words"].query(inputs, FILTERS, 50, WEIGHTS)["bool"]["must"]
    assert words == [
        {"match": {"title": {"query": "black", "operator": "and"}}},
        {"match": {"title": {"query": "bakcpack", "operator": "and", "fuzziness": "AUTO", "prefix_length": 1}}},
    ]


def test_a_query_of_catalog_words_matches_as_typed_and_one_of_slips_all_fuzzy():
    known = QueryInputs(text="black men's shorts", typed="black men's shorts", slips=frozenset())
    bm25 = LEGS_BY_NAME["bm25"].query(known, FILTERS, 50, WEIGHTS)["bool"]["must"][0]["multi_match"]
    assert bm25["query"] == "black men's shorts" and "fuzziness" not in bm25
    words = LEGS_BY_NAME["title_words"].query(known, FILTERS, 50, WEIGHTS)["bool"]["must"]
    assert words == [{"match": {"title": {"query": "black men's shorts", "operator": "and"}}}]
    slipped = QueryInputs(text="blakc shrots", slips=frozenset({"blakc", "shrots"}))
    bm25 = LEGS_BY_NAME["bm25"].query(slipped, FILTERS, 50, WEIGHTS)["bool"]["must"][0]["multi_match"]
    assert (bm25["query"], bm25["fuzziness"]) == ("blakc shrots", "AUTO")

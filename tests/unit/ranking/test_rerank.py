import numpy as np
import pytest

from hybrid_search.ranking.combine import Combined
from hybrid_search.ranking.explain import explain_hit
from hybrid_search.ranking.rerank import (
    UserProfile,
    affinity_shares,
    rerank,
    updated_vector,
    user_boost,
)


def test_empty_profile_gives_no_boost_and_keeps_the_order():
    hits = [Combined("b", 0.9), Combined("a", 0.5)]
    assert user_boost(UserProfile(), 1.0, {"colour": "black"}) == 0.0
    assert [r.hit.doc_id for r in rerank(hits, {}, weight=0.5)] == ["b", "a"]


def test_boost_combines_vector_similarity_and_affinities():
    profile = UserProfile(
        vector=np.array([1.0, 0.0], dtype=np.float32),
        affinities=affinity_shares({"colour": {"black": 3.0, "red": 1.0}}),
    )
    boost = user_boost(profile, 0.6, {"colour": "Black"}, vector_share=0.5)
    assert boost == pytest.approx(0.5 * 0.6 + 0.5 * 0.75)
    assert user_boost(profile, None, {"colour": "red"}, vector_share=0.5) == pytest.approx(0.5 * 0.25)


def test_rerank_adds_weighted_boost_and_resorts():
    hits = [Combined("a", 0.60), Combined("b", 0.55)]
    out = rerank(hits, {"b": 0.2}, weight=0.5)
    assert [(r.hit.doc_id, r.score) for r in out] == [("b", pytest.approx(0.65)), ("a", pytest.approx(0.60))]


def test_profile_vector_is_a_unit_moving_average():
    v = updated_vector(None, np.array([3.0, 4.0]), weight=1.0)
    np.testing.assert_allclose(v, [0.6, 0.8])
    w = updated_vector(v, np.array([1.0, 0.0]), weight=3.0, decay=0.5)
    assert np.linalg.norm(w) == pytest.approx(1.0)
    assert w[0] > v[0]


def test_affinity_shares_ignore_non_positive_counts():
    assert affinity_shares({"colour": {"black": 2.0, "red": 0.0}, "brand": {}}) == {"colour": {"black": 1.0}}


def test_explain_final_is_the_returned_score():
    from hybrid_search.ranking.combine import combine

    (hit,) = rerank(combine({"bm25": [("a", 2.0)], "text": []}, {"bm25": 0.4, "text": 0.6}), {"a": 0.1}, 0.3)
    explained = explain_hit(hit, {"bm25": 0.4, "text": 0.6}, "min_max", "arithmetic", 60, "skip", 0.3)
    assert explained["final"] == hit.score == pytest.approx(1.0 + 0.03)
    assert explained["legs"]["bm25"] == {"found": True, "raw": 2.0, "rank": 1, "normalised": 1.0, "weight": 0.4}
    assert explained["legs"]["text"] == {"found": False, "weight": 0.6}
    assert explained["combined"] + explained["rerank_weight"] * explained["user_boost"] == pytest.approx(
        explained["final"]
    )


def test_a_profile_from_history_is_the_one_events_build_one_by_one():
    from hybrid_search.ranking.rerank import profile_from_history

    a, b = {"fused_vector": [1.0, 0.0], "colour": "Black"}, {"fused_vector": [0.0, 1.0], "colour": "Red"}
    history = [("click", a), ("impression", b), ("purchase", b)]
    profile = profile_from_history(history, decay=0.5)
    step = updated_vector(updated_vector(None, np.array([1.0, 0.0]), 1.0, 0.5), np.array([0.0, 1.0]), 3.0, 0.5)
    np.testing.assert_allclose(profile.vector, step)
    assert profile.affinities == {"colour": {"black": 0.25, "red": 0.75}}
    assert profile_from_history([("impression", a)]).empty


def test_reasons_name_the_favoured_attributes_and_the_nearest_history_products():
    from hybrid_search.ranking.explain import user_reasons

    profile = UserProfile(vector=np.array([1.0, 0.0]), affinities={"colour": {"black": 0.6}, "gender": {"men": 0.9}})
    history = [("h1", "Black Watch", np.array([1.0, 0.0])), ("h2", "Red Bag", np.array([0.0, 1.0]))]
    why = user_reasons(
        profile, {"colour": "Black", "gender": "Men", "article_type": "Watches"}, np.array([0.8, 0.6]), history
    )
    assert why["attributes"] == [
        {"field": "gender", "value": "men", "share": 0.9},
        {"field": "colour", "value": "black", "share": 0.6},
    ]
    assert [h["id"] for h in why["nearest_history"]] == ["h1", "h2"]
    assert why["nearest_history"][0]["cosine"] == 0.8
    assert user_reasons(profile, {"colour": "Blue"}, None, history) == {"attributes": [], "nearest_history": []}


def test_fields_the_query_decides_are_left_out_of_the_affinity():
    from hybrid_search.ranking.rerank import asked_fields

    intent = {"article_type": {"Dresses": 0.9}, "colour": {"Red": 0.4, "Black": 0.3}, "gender": {"Women": 0.5}}
    assert asked_fields(intent) == {"article_type", "gender"}
    assert asked_fields(None) == frozenset()
    profile = UserProfile(affinities={"article_type": {"watches": 1.0}, "colour": {"black": 1.0}})
    black_watch = {"article_type": "Watches", "colour": "Black"}
    assert user_boost(profile, None, black_watch) == 1.0
    assert user_boost(profile, None, black_watch, asked={"article_type"}) == 1.0  # colour alone: still black
    assert user_boost(profile, None, {"article_type": "Watches", "colour": "Red"}, asked={"article_type"}) == 0.0


def test_a_relative_rerank_lifts_what_the_query_found_relevant_more_than_what_it_did_not():
    hits = [Combined("a", 1.0), Combined("b", 0.9), Combined("c", 0.5)]
    boosts = {"b": 1.0, "c": 1.0}
    assert [r.hit.doc_id for r in rerank(hits, boosts, 0.6)] == ["b", "c", "a"]
    relative = rerank(hits, boosts, 0.6, relative=True)
    assert [r.hit.doc_id for r in relative] == ["b", "a", "c"]  # c sits at the bottom: no lift
    assert relative[0].score == pytest.approx(0.9 + 0.6 * 0.8)
    assert [r.hit.doc_id for r in rerank(hits, {}, 0.6, relative=True)] == ["a", "b", "c"]

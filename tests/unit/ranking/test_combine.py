import math

import pytest

from hybrid_search.ranking.combine import (
    combine,
    rrf,
    weighted_arithmetic,
    weighted_geometric,
    weighted_harmonic,
)
from hybrid_search.ranking.normalise import MIN_SCORE

LEGS = {
    "bm25": [("a", 12.0), ("b", 6.0), ("c", 3.0)],
    "text": [("b", 0.9), ("d", 0.8), ("a", 0.7)],
}


def test_means_by_hand_with_weights_not_summing_to_one():
    scores, weights = {"x": 0.5, "y": 0.2}, {"x": 3.0, "y": 1.0}
    assert weighted_arithmetic(scores, weights) == pytest.approx((3 * 0.5 + 0.2) / 4)
    assert weighted_geometric(scores, weights) == pytest.approx(math.exp((3 * math.log(0.5) + math.log(0.2)) / 4))
    assert weighted_harmonic(scores, weights) == pytest.approx(4 / (3 / 0.5 + 1 / 0.2))


def test_scaling_all_weights_changes_nothing():
    a = combine(LEGS, {"bm25": 0.3, "text": 0.7})
    b = combine(LEGS, {"bm25": 3.0, "text": 7.0})
    assert [(h.doc_id, round(h.score, 12)) for h in a] == [(h.doc_id, round(h.score, 12)) for h in b]


def test_geometric_and_harmonic_are_zero_when_a_weighted_leg_is_zero():
    assert weighted_geometric({"x": 0.0, "y": 1.0}, {"x": 1.0, "y": 1.0}) == 0.0
    assert weighted_harmonic({"x": 0.0, "y": 1.0}, {"x": 1.0, "y": 1.0}) == 0.0
    assert weighted_geometric({"x": 0.0, "y": 0.5}, {"x": 0.0, "y": 1.0}) == pytest.approx(0.5)


def test_rrf_by_hand():
    assert rrf({"x": 1, "y": 3}, {"x": 1.0, "y": 2.0}, 60) == pytest.approx(1 / 61 + 2 / 63)


def test_arithmetic_min_max_blend_by_hand():
    result = {h.doc_id: h for h in combine(LEGS, {"bm25": 1.0, "text": 1.0})}
    # bm25 min-max: a 1, b 1/3, c MIN; text: b 1, d 0.5, a MIN.
    assert result["a"].score == pytest.approx((1.0 + MIN_SCORE) / 2)
    assert result["b"].score == pytest.approx((1 / 3 + 1.0) / 2)
    assert result["c"].score == pytest.approx(MIN_SCORE)  # missing legs are skipped, as in OpenSearch
    assert result["d"].score == pytest.approx(0.5)
    assert result["b"].legs["text"].rank == 1 and result["b"].legs["bm25"].raw == 6.0


def test_missing_as_zero_demotes_single_leg_documents():
    skip = {h.doc_id: h.score for h in combine(LEGS, {"bm25": 1.0, "text": 1.0})}
    zero = {h.doc_id: h.score for h in combine(LEGS, {"bm25": 1.0, "text": 1.0}, missing="zero")}
    assert zero["d"] == pytest.approx(skip["d"] / 2)
    assert zero["b"] == pytest.approx(skip["b"])


def test_rrf_combination_uses_ranks_only():
    result = combine(LEGS, {"bm25": 1.0, "text": 1.0}, combination="rrf", rank_constant=1)
    scores = {h.doc_id: h.score for h in result}
    assert scores == pytest.approx({"a": 1 / 2 + 1 / 4, "b": 1 / 3 + 1 / 2, "c": 1 / 4, "d": 1 / 3})
    assert [h.doc_id for h in result] == ["b", "a", "d", "c"]


def test_ties_are_broken_by_id_for_stable_pages():
    legs = {"bm25": [("z", 1.0), ("y", 1.0), ("x", 1.0)]}
    assert [h.doc_id for h in combine(legs, {"bm25": 1.0})] == ["x", "y", "z"]


def test_empty_leg_and_no_legs():
    result = combine({"bm25": [], "text": [("a", 0.4)]}, {"bm25": 1.0, "text": 1.0})
    assert [(h.doc_id, h.score) for h in result] == [("a", 1.0)]
    assert combine({}, {}) == []


def test_single_hit_gets_full_normalised_score():
    (only,) = combine({"text": [("a", 0.31)]}, {"text": 0.5})
    assert only.score == pytest.approx(1.0)


def test_z_score_with_arithmetic():
    result = {h.doc_id: h.score for h in combine({"x": [("a", 3.0), ("b", 1.0)]}, {"x": 1.0}, "z_score")}
    assert result == pytest.approx({"a": 1.0, "b": -1.0})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"combination": "median"}, "Combination"),
        ({"normalisation": "sigmoid"}, "Normalisation"),
        ({"normalisation": "z_score", "combination": "geometric"}, "z_score"),
        ({"missing": "drop"}, "Missing"),
    ],
)
def test_invalid_configurations_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        combine(LEGS, {"bm25": 1.0, "text": 1.0}, **kwargs)


def test_weights_must_cover_legs_and_not_be_negative():
    with pytest.raises(ValueError, match="no weight"):
        combine(LEGS, {"bm25": 1.0})
    with pytest.raises(ValueError, match="negative"):
        combine(LEGS, {"bm25": 1.0, "text": -0.1})

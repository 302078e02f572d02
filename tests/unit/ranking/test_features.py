import math

import numpy as np
import pytest

from hybrid_search.ranking.features import FEATURE_NAMES, QuerySignals, candidates, feature_matrix, query_features

LEGS = {
    "bm25": [("a", 12.0), ("b", 6.0), ("c", 3.0)],
    "text": [("b", 0.9), ("d", 0.8), ("a", 0.7)],
}


def column(matrix: np.ndarray, ids: list[str], doc_id: str, name: str) -> float:
    return float(matrix[ids.index(doc_id), FEATURE_NAMES.index(name)])


def test_candidates_are_every_legs_head_by_best_rank_then_leg_order():
    assert candidates(LEGS, 10) == ["a", "b", "d", "c"]
    assert candidates(LEGS, 1) == ["a", "b"]
    assert candidates({}, 10) == []


def test_leg_features_by_hand():
    ids, matrix = feature_matrix(LEGS, QuerySignals(text="black shoes"), 10)
    assert matrix.shape == (4, len(FEATURE_NAMES))
    assert column(matrix, ids, "b", "bm25.score") == 6.0
    assert column(matrix, ids, "b", "bm25.relative") == 0.5
    assert column(matrix, ids, "b", "bm25.minmax") == pytest.approx((6 - 3) / (12 - 3))
    assert column(matrix, ids, "b", "bm25.rank") == pytest.approx(math.log2(3))
    assert column(matrix, ids, "a", "text.rank") == pytest.approx(math.log2(4))
    # per query: the leg's best score and how far its first hit stands above its second
    assert column(matrix, ids, "d", "bm25.top") == 12.0
    assert column(matrix, ids, "d", "bm25.margin") == pytest.approx(0.5)
    assert column(matrix, ids, "a", "query.legs_found") == 2
    assert column(matrix, ids, "d", "query.legs_found") == 1


def test_a_product_a_leg_missed_scores_as_its_last_hit_and_ranks_below_it():
    ids, matrix = feature_matrix(LEGS, QuerySignals(), 10)
    assert column(matrix, ids, "d", "bm25.found") == 0.0 and column(matrix, ids, "c", "bm25.found") == 1.0
    assert column(matrix, ids, "d", "bm25.score") == column(matrix, ids, "c", "bm25.score") == 3.0
    assert column(matrix, ids, "d", "bm25.minmax") == 0.0
    assert column(matrix, ids, "d", "bm25.rank") == pytest.approx(math.log2(12))  # below any of the 10 a leg returns
    assert column(matrix, ids, "d", "bm25.rank") > column(matrix, ids, "c", "bm25.rank")


def test_tied_hits_share_the_first_place_of_their_tie():
    legs = {"attributes": [("a", 5.0), ("b", 3.0), ("c", 3.0), ("d", 3.0), ("e", 1.0)]}
    ids, matrix = feature_matrix(legs, QuerySignals(), 10)
    ranks = [column(matrix, ids, doc_id, "attributes.rank") for doc_id in "abcde"]
    assert ranks == pytest.approx([1.0, math.log2(3), math.log2(3), math.log2(3), math.log2(6)])


def test_a_product_missed_where_the_leg_was_cut_inside_a_tie_ranks_with_the_tie():
    """Constant-score attribute terms tie hundreds of products: which of them the leg listed within
    its depth is document order, so a product it left out may be one of the tie."""
    legs = {"attributes": [("a", 5.0), ("b", 5.0), ("c", 5.0)], "image": [("x", 0.9), ("a", 0.5)]}
    ids, matrix = feature_matrix(legs, QuerySignals(photo=True), 3)
    assert column(matrix, ids, "x", "attributes.found") == 0.0
    for name in ("score", "relative", "minmax", "rank"):
        assert column(matrix, ids, "x", f"attributes.{name}") == column(matrix, ids, "c", f"attributes.{name}")
    # a list shorter than the depth was not cut: what it left out is below it
    ids, matrix = feature_matrix(legs, QuerySignals(photo=True), 10)
    assert column(matrix, ids, "x", "attributes.rank") == pytest.approx(math.log2(12))
    assert column(matrix, ids, "x", "attributes.minmax") == 0.0


def test_a_leg_that_did_not_run_is_missing_not_zero():
    ids, matrix = feature_matrix(LEGS, QuerySignals(), 10)
    assert column(matrix, ids, "d", "bm25.ran") == 1.0
    assert column(matrix, ids, "a", "image.ran") == 0.0
    assert math.isnan(column(matrix, ids, "a", "image.top"))
    assert math.isnan(column(matrix, ids, "a", "image.score")) and math.isnan(column(matrix, ids, "a", "image.found"))


def test_depth_cuts_each_leg_before_its_statistics():
    ids, matrix = feature_matrix(LEGS, QuerySignals(), 2)
    assert "c" not in ids
    assert column(matrix, ids, "a", "bm25.minmax") == 1.0 and column(matrix, ids, "b", "bm25.minmax") == 0.0


def test_zero_variance_single_hit_and_duplicate_hits():
    ids, matrix = feature_matrix({"image": [("x", 0.5)], "text": [("y", 0.2), ("y", 0.1)]}, QuerySignals(), 10)
    assert column(matrix, ids, "x", "image.minmax") == 1.0
    assert column(matrix, ids, "x", "image.margin") == 0.0
    assert column(matrix, ids, "y", "text.score") == pytest.approx(0.2)  # a product listed twice keeps its best hit


def test_query_features_say_what_kind_of_query_it_is():
    brand = query_features(QuerySignals("remanika", intent={"colour": {"Black": 0.2}, "words": {"remanika": 1.0}}))
    assert brand["catalog_words"] == 1.0 and brand["words"] == 1.0 and brand["head_colour"] == 0.2
    assert math.isnan(brand["head_gender"])
    assert query_features(QuerySignals("zapatillas rojas para niña"))["latin_extended"] == 1.0
    assert query_features(QuerySignals("黑色 双肩包"))["cjk"] == 1.0
    assert query_features(QuerySignals("メンズ 黒 スニーカー"))["kana"] == 1.0
    photo = query_features(QuerySignals(photo=True))
    assert photo["photo"] == 1.0 and photo["words"] == 0.0 and photo["catalog_words"] == 0.0


def test_margin_counts_a_tie_at_the_top_as_one_first_place():
    """Two products with one photo tie the image leg's first hit: the query still names that photo."""
    ids, matrix = feature_matrix({"image": [("a", 0.9), ("b", 0.9), ("c", 0.6)]}, QuerySignals(photo=True), 10)
    assert column(matrix, ids, "c", "image.margin") == pytest.approx(0.3 / 0.9)
    ids, matrix = feature_matrix({"image": [("a", 0.9), ("b", 0.9)]}, QuerySignals(photo=True), 10)
    assert column(matrix, ids, "a", "image.margin") == 0.0


def test_photo_match_features_are_the_candidates_inliers_and_their_share_of_the_best():
    legs = {"image": [("a", 0.9), ("b", 0.8), ("c", 0.7)], "fused": [("d", 0.5)]}
    ids, matrix = feature_matrix(legs, QuerySignals(photo=True, photo_matches={"a": 12, "b": 120}), 10)
    assert column(matrix, ids, "b", "photo_match.inliers") == 120.0
    assert column(matrix, ids, "a", "photo_match.share") == pytest.approx(0.1)
    # verified and unmatched, or never verified (outside the image leg's head): no inliers
    assert column(matrix, ids, "c", "photo_match.inliers") == 0.0
    assert column(matrix, ids, "d", "photo_match.share") == 0.0
    assert column(matrix, ids, "d", "query.photo_match") == 120.0


def test_photo_match_features_are_missing_where_nothing_was_verified():
    ids, matrix = feature_matrix(LEGS, QuerySignals(text="black shoes"), 10)
    for name in ("photo_match.inliers", "photo_match.share", "query.photo_match"):
        assert math.isnan(column(matrix, ids, "a", name))
    ids, matrix = feature_matrix({"image": [("a", 0.9)]}, QuerySignals(photo=True, photo_matches={}), 10)
    assert column(matrix, ids, "a", "photo_match.inliers") == 0.0
    assert column(matrix, ids, "a", "query.photo_match") == 0.0

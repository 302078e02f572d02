import math

import pytest

from hybrid_search.ranking.normalise import MIN_SCORE, l2, min_max, z_score


def test_min_max_by_hand():
    assert min_max([10.0, 5.0, 7.5]) == pytest.approx([1.0, MIN_SCORE, 0.5])


def test_min_max_single_hit_ties_and_empty():
    assert min_max([3.2]) == [1.0]
    assert min_max([2.0, 2.0]) == [1.0, 1.0]
    assert min_max([]) == []


def test_l2_by_hand_and_zeros():
    assert l2([3.0, 4.0]) == pytest.approx([0.6, 0.8])
    assert l2([0.0, 0.0]) == [0.0, 0.0]
    assert l2([]) == []


def test_z_score_by_hand_and_zero_variance():
    scores = [1.0, 2.0, 3.0]
    std = math.sqrt(2 / 3)
    assert z_score(scores) == pytest.approx([-1 / std, 0.0, 1 / std])
    assert z_score([5.0, 5.0, 5.0]) == [0.0, 0.0, 0.0]
    assert z_score([4.0]) == [0.0]


def test_min_max_maps_only_the_lowest_score_to_min_score_as_opensearch_does():
    # OpenSearch keeps a tiny non-zero normalised score as it is; only exactly 0 becomes MIN_SCORE
    assert min_max([1000.0, 0.0, 0.5]) == pytest.approx([1.0, MIN_SCORE, 0.0005])

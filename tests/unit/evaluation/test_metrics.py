import math

import pytest

from hybrid_search.evaluation.metrics import mrr_at_k, ndcg_at_k, precision_at_k, recall_at_k

GRADES = {"a": 2, "b": 1, "c": 0, "d": 2}


def test_ndcg_by_hand():
    ranked = ["b", "a", "x"]
    dcg = 1 / math.log2(2) + 3 / math.log2(3)
    ideal = 3 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, GRADES, k=3) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["a", "d", "b"], GRADES, k=3) == pytest.approx(1.0)
    assert ndcg_at_k(["a"], {"z": 0}, k=10) == 0.0


def test_mrr_counts_the_first_grade_two_hit():
    assert mrr_at_k(["b", "x", "d"], GRADES, k=10) == pytest.approx(1 / 3)
    assert mrr_at_k(["b", "x", "d"], GRADES, k=2) == 0.0


def test_recall_and_precision():
    assert recall_at_k(["a", "x", "b"], GRADES, k=100) == pytest.approx(2 / 3)
    assert recall_at_k(["a"], {}, k=100) == 0.0
    assert precision_at_k(["a", "x", "b", "c"], GRADES, k=4) == pytest.approx(0.5)

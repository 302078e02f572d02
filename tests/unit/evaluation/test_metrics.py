import math

import numpy as np
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


def _random_case(rng: np.random.Generator) -> tuple[list[str], dict[str, int]]:
    docs = [f"d{i}" for i in range(60)]
    grades = {d: int(g) for d, g in zip(docs, rng.choice([0, 0, 0, 1, 2], size=len(docs)), strict=True) if g}
    ranked = list(rng.permutation(docs)[: rng.integers(10, 60)])
    return ranked, grades


def test_ndcg_matches_scikit_learn_on_random_rankings():
    """sklearn's ndcg_score with linear gains 2^g - 1 and every judged document in y_true."""
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(7)
    for _ in range(200):
        ranked, grades = _random_case(rng)
        if not grades:
            continue
        universe = sorted(set(ranked) | set(grades))
        # distinct scores in ranked order; unranked documents below every ranked one
        score = {d: len(ranked) - i for i, d in enumerate(ranked)}
        y_true = np.array([[2 ** grades.get(d, 0) - 1 for d in universe]], dtype=float)
        y_score = np.array([[score.get(d, -1 - j * 1e-6) for j, d in enumerate(universe)]])
        assert ndcg_at_k(ranked, grades, 10) == pytest.approx(ndcg_score(y_true, y_score, k=10))


def test_recall_precision_and_mrr_match_set_arithmetic_on_random_rankings():
    rng = np.random.default_rng(11)
    for _ in range(200):
        ranked, grades = _random_case(rng)
        relevant = {d for d, g in grades.items() if g >= 1}
        top = set(ranked[:10])
        if relevant:
            assert recall_at_k(ranked, grades, 10) == pytest.approx(len(relevant & top) / len(relevant))
        assert precision_at_k(ranked, grades, 10) == pytest.approx(len(relevant & top) / 10)
        perfect = [i for i, d in enumerate(ranked[:10]) if grades.get(d) == 2]
        assert mrr_at_k(ranked, grades, 10) == pytest.approx(1 / (perfect[0] + 1) if perfect else 0.0)

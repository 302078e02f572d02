import numpy as np
import pytest
from scipy import sparse

from hybrid_search.models.encoders.behaviour import (
    Interaction,
    build_behaviour_vectors,
    fusion_input,
    neutral_vector,
    ppmi,
)


def test_ppmi_matches_hand_computation():
    counts = sparse.csr_matrix(np.array([[0, 2, 1], [2, 0, 0], [1, 0, 0]], dtype=float))
    result = ppmi(counts).toarray()
    total, row = 6.0, np.array([3.0, 2.0, 1.0])
    assert result[0, 1] == pytest.approx(np.log(2 * total / (row[0] * row[1])))
    assert result[0, 2] == pytest.approx(np.log(1 * total / (row[0] * row[2])))
    assert result[1, 2] == 0.0


def _sessions():
    events = []
    for s in range(30):  # two communities: bags (a, b, c) and shoes (x, y, z)
        group = ("a", "b", "c") if s % 2 else ("x", "y", "z")
        events += [Interaction(f"s{s}", group[s % 3], "click"), Interaction(f"s{s}", group[(s + 1) % 3], "purchase")]
        events.append(Interaction(f"s{s}", group[(s + 2) % 3], "impression"))
    return events


def test_products_of_the_same_sessions_are_closer():
    ids = ["a", "b", "c", "x", "y", "z", "lonely"]
    result = build_behaviour_vectors(_sessions(), ids, dim=8)
    v = dict(zip(ids, result.vectors, strict=True))
    assert v["a"] @ v["b"] > v["a"] @ v["x"] + 0.5
    assert v["x"] @ v["y"] > v["x"] @ v["c"] + 0.5


def test_products_without_events_get_the_neutral_vector_and_a_flag():
    ids = ["a", "b", "c", "x", "y", "z", "lonely"]
    result = build_behaviour_vectors(_sessions(), ids, dim=8)
    assert result.has_behaviour.tolist() == [True] * 6 + [False]
    np.testing.assert_array_equal(result.vectors[-1], neutral_vector(8))
    assert not np.isnan(result.vectors).any()
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, rtol=1e-5)
    assert np.abs(result.vectors[:6] @ neutral_vector(8)).max() == 0.0


def test_no_events_at_all_is_all_neutral():
    result = build_behaviour_vectors([], ["a", "b"], dim=4)
    assert not result.has_behaviour.any()
    np.testing.assert_array_equal(result.vectors, np.tile(neutral_vector(4), (2, 1)))


def test_popularity_and_click_rate():
    events = [
        Interaction("s", "a", "impression"),
        Interaction("s", "a", "impression"),
        Interaction("s", "a", "click"),
        Interaction("s", "b", "purchase"),
    ]
    result = build_behaviour_vectors(events, ["a", "b"], dim=4)
    assert result.click_rate.tolist() == [0.5, 0.0]
    assert result.popularity.tolist() == pytest.approx([np.log1p(1.0), np.log1p(3.0)])


def test_the_fusion_reads_a_stored_vector_only_where_the_product_has_behaviour():
    learned = [0.0, 0.6, 0.8, 0.0]
    vector, has = fusion_input({"has_behaviour": True, "behaviour_vector": learned}, 4)
    assert has is True and vector.dtype == np.float32 and vector.tolist() == pytest.approx(learned)
    for product in ({}, {"has_behaviour": False}, {"has_behaviour": False, "behaviour_vector": learned}):
        vector, has = fusion_input(product, 4)  # no events (a stale vector of a product that lost them too)
        assert has is False and vector.tolist() == neutral_vector(4).tolist()

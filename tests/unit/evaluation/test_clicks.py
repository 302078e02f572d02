import json
import random

import pytest

from hybrid_search.evaluation.clicks import Shown, coec, judgment_list, position_ctr, shown_from_events
from hybrid_search.evaluation.judgments import load_search_relevance_judgments


def event(action, search, doc, ordinal=None, query="red shirt"):
    attributes = {"object": {"object_id": doc}}
    if ordinal is not None:
        attributes["position"] = {"ordinal": ordinal}
    return {"action_name": action, "query_id": search, "user_query": query, "event_attributes": attributes}


def test_impressions_and_clicks_pair_by_search_and_product():
    events = [
        event("impression", "s1", "a", 1),
        event("impression", "s1", "b", 2),
        event("click", "s1", "b", 2),
        event("click", "s2", "c", 4),  # no impression: shown where it was clicked
        event("impression", "s2", "d"),  # no position: skipped
        {**event("impression", "s3", "e", 1), "user_query": None},  # no query text: skipped
        event("purchase", "s1", "a", 1),  # not an impression or a click
    ]
    assert shown_from_events(events) == [
        Shown("red shirt", "s1", "a", 1, False),
        Shown("red shirt", "s1", "b", 2, True),
        Shown("red shirt", "s2", "c", 4, True),
    ]


def test_coec_divides_clicks_by_what_the_positions_predict():
    shown = [Shown("q", f"s{i}", "top", 1, i < 5) for i in range(10)]  # 5 clicks in 10 at position 1
    shown += [Shown("q", f"s{i}", "low", 2, i < 1) for i in range(10)]  # 1 click in 10 at position 2
    shown += [Shown("q2", f"t{i}", "x", 2, i < 3) for i in range(10)]  # 3 clicks in 10 at position 2
    shown += [Shown("q2", f"t{i}", "never", 1, False) for i in range(10)]
    ctr = position_ctr(shown)
    assert ctr == {1: pytest.approx(5 / 20), 2: pytest.approx(4 / 20)}
    ratings = coec(shown, prior=0)
    assert ratings["q"]["top"] == pytest.approx(5 / (10 * 0.25))
    assert ratings["q"]["low"] == pytest.approx(1 / (10 * 0.2))
    assert ratings["q2"]["x"] == pytest.approx(3 / (10 * 0.2)) and ratings["q2"]["never"] == 0.0
    thin = coec(shown[:3] + shown[10:], min_impressions=5, prior=0)
    assert thin == {"q": {"low": pytest.approx(0.5)}, "q2": ratings["q2"]}
    assert coec([Shown("q", "s", "d", 7, False)], prior=0) == {"q": {"d": 0.0}}  # a position nobody clicks
    assert coec(shown)["q"]["top"] == pytest.approx((5 + 1) / (10 * 0.25 + 1))  # a prior of one expected click


def test_the_prior_keeps_thin_evidence_near_the_average_product():
    shown = [Shown("q", f"s{i}", "ignored", 1, False) for i in range(100)]  # never clicked on top
    shown += [Shown("q2", f"t{i}", "liked", 1, True) for i in range(100)]  # position 1: CTR 0.5
    shown += [Shown("q", f"s{i}", f"deep{i}", 20, False) for i in range(99)]  # position 20: CTR 0.01
    shown += [Shown("q", "s0", "lucky", 20, True)]
    plain, smoothed = coec(shown, prior=0)["q"], coec(shown)["q"]
    assert plain["lucky"] == pytest.approx(100.0) and smoothed["lucky"] == pytest.approx(2 / 1.01)
    assert plain["deep3"] == 0.0 and smoothed["deep3"] == pytest.approx(1 / 1.01)  # one glance, far down
    assert smoothed["ignored"] == pytest.approx(1 / 51)  # a hundred chances on top, none taken


def test_coec_undoes_position_bias():
    """Shoppers click by relevance times the chance of looking that far down; irrelevant products
    are shown first half of the time, yet the relevant ones rate above every irrelevant one."""
    rng = random.Random(7)
    relevant, irrelevant = ["r1", "r2", "r3"], ["n1", "n2", "n3"]
    shown = []
    for session in range(2000):
        order = irrelevant + relevant if session % 2 else relevant + irrelevant
        for position, doc in enumerate(order, start=1):
            attractive = 0.6 if doc in relevant else 0.1
            shown.append(Shown("q", f"s{session}", doc, position, rng.random() < attractive / position))
    ratings = coec(shown)["q"]
    assert min(ratings[d] for d in relevant) > 2 * max(ratings[d] for d in irrelevant)


def test_the_judgment_list_is_one_eval_and_tune_read(tmp_path):
    path = tmp_path / "clicks.json"
    path.write_text(json.dumps(judgment_list({"红色 衬衫": {"b": 1.25, "a": 0.0}, "shoes": {"c": 2.0}}, "clicks")))
    queries, qrels = load_search_relevance_judgments(path)
    assert [(q.text, q.kind) for q in queries] == [("shoes", "short"), ("红色 衬衫", "zh")]
    assert list(qrels.values()) == [{"c": 2.0}, {"a": 0.0, "b": 1.25}]

import json
import random

import pytest

from hybrid_search.ranking.features import QuerySignals
from hybrid_search.ranking.learned import load_ranker, train_ranker


def query(rng: random.Random, brand: bool) -> tuple[dict, QuerySignals, dict[str, int]]:
    """A toy catalog where a brand typed alone is answered by BM25 and an attribute query by the
    attributes leg; each leg also lists 40 products that are not the answer."""
    others = [f"p{rng.randrange(5000)}" for _ in range(80)]
    answer = f"answer{rng.randrange(10**6)}"
    bm25 = ([answer] if brand else []) + others[:40]
    attributes = ([] if brand else [answer]) + others[40:]
    rng.shuffle(attributes)  # the attributes leg is no help for a brand, BM25 none for attributes
    legs = {
        "bm25": [(d, 12.0 - i * 0.2) for i, d in enumerate(bm25 if brand else rng.sample(bm25, len(bm25)))],
        "attributes": [(d, 6.0 - i * 0.1) for i, d in enumerate(attributes if not brand else attributes)],
        "text": [(d, 0.9 - i * 0.001) for i, d in enumerate(rng.sample(others, 60))],
    }
    if not brand:
        legs["attributes"] = [(answer, 6.5)] + [(d, 5.0) for d in others[40:]]
    intent = {"words": {"asics": 1.0}} if brand else {"colour": {"Black": 0.9}, "article_type": {"Shoes": 0.9}}
    return legs, QuerySignals("asics" if brand else "black men's shoes", intent=intent), {answer: 2}


@pytest.fixture(scope="module")
def toy():
    rng = random.Random(0)
    train = [query(rng, n % 2 == 0) for n in range(300)]
    test = [query(rng, n % 2 == 0) for n in range(60)]
    return train_ranker(train, depth=50, rounds=60), test


def test_learns_which_leg_to_trust_per_query(toy):
    ranker, test = toy
    first = [ranker.rank(legs, signals).hits[0].doc_id in grades for legs, signals, grades in test]
    assert sum(first) / len(first) >= 0.95


def test_scores_are_scaled_into_unit_interval_and_strictly_ordered(toy):
    ranker, test = toy
    hits = ranker.rank(*test[0][:2]).hits
    scores = [h.score for h in hits]
    assert scores[0] == pytest.approx(1.0) and min(scores) >= -1e-6
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False))  # no ties: a page never falls back to ids
    assert hits[0].legs["bm25"].rank == 1  # what explain shows of each leg beside the learned score


def test_explain_contributions_add_up_to_the_learned_score(toy):
    ranker, test = toy
    ranking = ranker.rank(*test[0][:2])
    top = ranking.hits[0].doc_id
    explained = ranker.explain(ranking, top)
    parts = explained["base"] + sum(explained["by_leg"].values()) + explained["query"]
    assert parts == pytest.approx(explained["score"], abs=1e-2)
    assert explained["by_leg"]["bm25"] > 0  # a brand's answer is lifted by BM25


def test_a_query_read_in_another_language_adds_its_attributes_leg_to_the_learned_score(toy):
    """An attribute query whose text legs read a translation: its attributes leg, scaled to its best
    hit, adds FOREIGN_ATTRIBUTES spreads of the learned score, so the heads' reading outweighs the
    learned order where they disagree, and the learned order breaks the leg's ties."""
    from dataclasses import replace

    from hybrid_search.ranking.learned import FOREIGN_ATTRIBUTES

    ranker, test = toy
    legs, signals, _ = test[1]  # an attribute query
    tied = [(d, 5.0) for d, _ in legs["attributes"][:6]] + [(d, 2.5) for d, _ in legs["attributes"][6:]]
    legs = {**legs, "attributes": tied}
    as_typed = ranker.rank(legs, signals)
    foreign = ranker.rank(legs, replace(signals, foreign=True))
    learned = {hit.doc_id: hit.score for hit in as_typed.hits}  # scaled into [0, 1]: the spread is 1
    attributes = dict(tied)
    expected = sorted(learned, key=lambda d: -(learned[d] + FOREIGN_ATTRIBUTES * attributes.get(d, 0.0) / 5.0))
    order = [hit.doc_id for hit in foreign.hits]
    assert order == expected
    assert set(order[:6]) == {d for d, score in tied if score == 5.0}  # a whole spread apart: the leg leads
    assert order[:6] == [d for d in learned if attributes.get(d) == 5.0]  # its tie in the learned order
    scores = [hit.score for hit in foreign.hits]
    assert scores[0] == 1.0 and all(a > b for a, b in zip(scores, scores[1:], strict=False))
    lift = ranker.explain(foreign, order[0])["read_in_another_language"]["attributes_lift"]
    assert lift == FOREIGN_ATTRIBUTES
    assert "read_in_another_language" not in ranker.explain(as_typed, as_typed.hits[0].doc_id)
    no_leg = ranker.rank({k: v for k, v in legs.items() if k != "attributes"}, replace(signals, foreign=True))
    assert not no_leg.foreign_lift  # without the leg, the learned score alone
    named = ranker.rank({**legs, "title_phrase": [(order[-1], 3.0)]}, replace(signals, foreign=True))
    assert not named.foreign_lift  # a title holds the query as typed: the catalog's own words


def test_saved_artifact_ranks_the_same(toy, tmp_path):
    ranker, test = toy
    path = ranker.save(tmp_path)
    loaded = load_ranker(path)
    assert path.name == f"{loaded.version}.txt" and loaded.version.startswith("ranker-") and loaded.depth == 50
    legs, signals, _ = test[1]
    assert [h.doc_id for h in loaded.rank(legs, signals).hits] == [h.doc_id for h in ranker.rank(legs, signals).hits]
    assert loaded.meta["queries"] == 300


def test_no_candidates_and_untrainable_queries():
    with pytest.raises(ValueError, match="no query has a graded product"):
        train_ranker([({"bm25": [("a", 1.0)]}, QuerySignals("x"), {"zzz": 2})], rounds=5)


def test_a_ranker_reads_only_the_features_it_was_trained_on(tmp_path):
    from hybrid_search.ranking.features import FEATURE_NAMES

    rng = random.Random(1)
    legs_only = [name for name in FEATURE_NAMES if not name.startswith("query.")]
    ranker = train_ranker([query(rng, n % 2 == 0) for n in range(60)], rounds=10, features=legs_only)
    loaded = load_ranker(ranker.save(tmp_path))
    assert loaded.features == tuple(legs_only)
    legs, signals, _ = query(rng, True)
    ranking = loaded.rank(legs, signals)
    explained = loaded.explain(ranking, ranking.hits[0].doc_id)
    assert explained["query"] == 0.0 and not any(name.startswith("query.") for name in explained["features"])


def photo_query(rng: random.Random) -> tuple[dict, QuerySignals, dict[str, int]]:
    """A toy photo query: the image leg's first hit is the answer, the attributes leg lists look-alikes."""
    others = [f"p{rng.randrange(5000)}" for _ in range(60)]
    answer = f"photo{rng.randrange(10**6)}"
    legs = {
        "image": [(answer, 0.95)] + [(d, 0.9 - i * 0.001) for i, d in enumerate(others[:30])],
        "attributes": [(d, 5.0 - i * 0.01) for i, d in enumerate(others[30:])],
    }
    return legs, QuerySignals("", photo=True), {answer: 3}


def test_photo_queries_get_a_model_of_their_own_and_the_artifact_keeps_both(tmp_path):
    rng = random.Random(3)
    groups = [query(rng, n % 2 == 0) for n in range(80)] + [photo_query(rng) for _ in range(80)]
    ranker = train_ranker(groups, rounds=20)
    assert set(ranker.boosters) == {"text", "photo"}
    assert ranker.meta["queries_by_model"] == {"text": 80, "photo": 80}
    legs, signals, grades = photo_query(rng)
    ranking = ranker.rank(legs, signals)
    assert ranking.model == "photo" and ranking.hits[0].doc_id in grades
    assert ranker.explain(ranking, ranking.hits[0].doc_id)["model"] == "photo"
    text_legs, text_signals, _ = query(rng, True)
    assert ranker.rank(text_legs, text_signals).model == "text"
    loaded = load_ranker(ranker.save(tmp_path))
    assert set(loaded.boosters) == {"text", "photo"}
    for asked_legs, asked in ((legs, signals), (text_legs, text_signals)):
        again, first = loaded.rank(asked_legs, asked), ranker.rank(asked_legs, asked)
        assert [h.score for h in again.hits] == [h.score for h in first.hits]


def test_a_kind_of_query_without_a_model_is_ranked_by_the_other_and_one_model_artifacts_still_load(tmp_path):
    rng = random.Random(4)
    ranker = train_ranker([query(rng, n % 2 == 0) for n in range(60)], rounds=10)
    assert set(ranker.boosters) == {"text"}
    legs, signals, _ = photo_query(rng)
    assert ranker.rank(legs, signals).model == "text"  # a catalog without photos trains no photo model
    # an artifact from before the models were split: a header without "models", then one model
    header, body = ranker.to_text().split("\n", 1)
    old = tmp_path / "ranker-old.txt"
    old.write_text(header.replace(', "models": {"text": ' + str(body.count("\n")) + "}", "") + "\n" + body)
    assert '"models"' not in old.read_text().split("\n", 1)[0]
    loaded = load_ranker(old)
    assert [h.doc_id for h in loaded.rank(legs, signals).hits] == [h.doc_id for h in ranker.rank(legs, signals).hits]


def test_the_text_model_does_without_the_fused_leg_where_photo_queries_have_their_own(tmp_path):
    from hybrid_search.querying.legs import LEG_NAMES

    rng = random.Random(5)
    groups = [query(rng, n % 2 == 0) for n in range(80)] + [photo_query(rng) for _ in range(80)]
    ranker = train_ranker(groups, rounds=20)
    assert ranker.legs_for(photo=False) == tuple(leg for leg in LEG_NAMES if leg != "fused")
    assert ranker.legs_for(photo=True) == LEG_NAMES
    legs, signals, _ = query(rng, True)
    with_fused = legs | {"fused": [(f"fused{i}", 0.99 - i * 0.001) for i in range(30)]}
    ranking = ranker.rank(with_fused, signals)
    assert [h.score for h in ranking.hits] == [h.score for h in ranker.rank(legs, signals).hits]
    assert "fused" not in ranking.hits[0].legs  # nor in what explain shows
    assert load_ranker(ranker.save(tmp_path)).legs_for(photo=False) == ranker.legs_for(photo=False)
    # a text model that also ranks photo queries (no photo model) reads their fused leg
    text_only = train_ranker([query(rng, n % 2 == 0) for n in range(60)], rounds=10)
    assert text_only.legs_for(photo=False) == text_only.legs_for(photo=True) == LEG_NAMES
    # an artifact from before models did without legs: a header without "reads" reads every leg
    header, body = ranker.to_text().split("\n", 1)
    old = tmp_path / "ranker-old.txt"
    old.write_text(
        header.replace(', "reads": ' + json.dumps({k: list(v) for k, v in ranker.reads.items()}), "") + "\n" + body
    )
    assert '"reads"' not in old.read_text().split("\n", 1)[0]
    assert load_ranker(old).legs_for(photo=False) == LEG_NAMES

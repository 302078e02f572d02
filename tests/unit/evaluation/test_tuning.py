import pytest

from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.tuning import (
    Scorer,
    SearchSpace,
    coordinate_ascent,
    cross_validate,
    folds_by_kind,
    grid_search,
    leave_one_intent_out,
    tune,
    tune_per_class,
)
from hybrid_search.querying.service import Retrieval
from hybrid_search.ranking.profiles import BlendProfile

SPACE = SearchSpace(windows=(50, 100), weight_values=(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0))
TARGET = {"bm25": 0.3, "text": 1.5, "fused": 0.0, "image": 0.0, "attributes": 0.7}


def synthetic(profile: BlendProfile) -> float:
    """A known optimum: TARGET weights, z_score + arithmetic, window 100."""
    loss = sum((profile.weight(leg) - w) ** 2 for leg, w in TARGET.items())
    loss += 0.5 * (profile.normalisation != "z_score") + 0.5 * (profile.combination != "arithmetic")
    return -loss - 0.1 * (profile.window != 100)


def test_coordinate_ascent_recovers_a_known_optimum():
    trials = coordinate_ascent(Scorer(synthetic), BlendProfile(), SPACE, rounds=5)
    best = trials.best
    assert {leg: best.weight(leg) for leg in TARGET} == TARGET
    assert (best.normalisation, best.combination, best.window) == ("z_score", "arithmetic", 100)
    assert trials.best_score == pytest.approx(0.0)


def test_grid_search_covers_the_discrete_choices_and_skips_invalid_ones():
    trials = grid_search(Scorer(synthetic), BlendProfile(), SPACE)
    assert (trials.best.normalisation, trials.best.combination, trials.best.window) == ("z_score", "arithmetic", 100)
    tried = {(p["normalisation"], p["combination"]) for p, _ in trials.history}
    assert ("z_score", "geometric") not in tried  # not a valid profile
    assert sum(p["combination"] == "rrf" for p, _ in trials.history) == len(SPACE.rank_constants) * len(SPACE.windows)


# Blending real legs. English: "text" puts the relevant R first (R 10, W 6, X 0) and "bm25" puts it
# last (W 10, X 5, R 0); Chinese the other way round. After min-max, R beats W only when the good
# leg's weight is above 2.5x the other's, so no single profile serves both: per-class tuning must.
def _case(n_per_kind: int = 12) -> tuple[dict, list[Query], dict]:
    retrievals, queries, qrels = {}, [], {}
    for kind, cls, good in (("keyword", "short", "text"), ("chinese", "zh", "bm25")):
        for i in range(n_per_kind):
            qid = f"{kind}-{i}"
            r, w, x = f"{qid}-r", f"{qid}-w", f"{qid}-x"
            right, wrong = [(r, 10.0), (w, 6.0), (x, 0.0)], [(w, 10.0), (x, 5.0), (r, 0.0)]
            legs = {"text": right, "bm25": wrong} if good == "text" else {"text": wrong, "bm25": right}
            retrievals[qid] = Retrieval(legs=legs, intent=None, query_class=cls, encode_ms=0, search_ms=0)
            queries.append(Query(qid, kind, "q"))
            qrels[qid] = {r: 2}
    return retrievals, queries, qrels


def test_per_class_tuning_recovers_the_better_leg_of_each_class():
    retrievals, queries, qrels = _case()
    space = SearchSpace(windows=(50,), weight_values=(0.0, 0.5, 1.0), legs=("bm25", "text"))
    base = BlendProfile(weights={"bm25": 1.0, "text": 1.0}, window=50)
    tuned, trials = tune_per_class(retrievals, queries, qrels, base, space, min_queries=5)
    english, chinese = tuned.for_class("short"), tuned.for_class("zh")
    assert english.weight("text") > english.weight("bm25")
    assert chinese.weight("bm25") > chinese.weight("text")
    assert trials["short"].best_score == pytest.approx(1.0) and trials["zh"].best_score == pytest.approx(1.0)


def test_cross_validation_scores_held_out_queries():
    retrievals, queries, qrels = _case()
    space = SearchSpace(windows=(50,), weight_values=(0.0, 1.0), legs=("bm25", "text"))
    base = BlendProfile(weights={"bm25": 1.0, "text": 0.0}, window=50)
    folds = cross_validate(retrievals, queries, qrels, base, space, folds=3, min_class_queries=3)
    assert [f.test_queries for f in folds] == [8, 8, 8]
    assert all(f.test_score == pytest.approx(1.0) for f in folds)
    assert all(f.base_test_score < 0.8 for f in folds)  # bm25 alone fails the English half


def test_folds_are_disjoint_and_stratified():
    queries = [Query(f"{k}{i}", k, "") for k in "ab" for i in range(10)]
    folds = folds_by_kind(queries, 5)
    ids = [q.id for fold in folds for q in fold]
    assert sorted(ids) == sorted(q.id for q in queries)
    assert all(sum(q.kind == "a" for q in fold) == 2 for fold in folds)


def test_tune_starts_from_the_best_grid_point():
    trials = tune(synthetic, BlendProfile(), SPACE, rounds=5)
    assert trials.best_score == pytest.approx(0.0)


def test_forked_scorers_find_the_same_optimum():
    sequential = tune(synthetic, BlendProfile(), SPACE, rounds=5)
    forked = tune(synthetic, BlendProfile(), SPACE, rounds=5, processes=2)
    assert forked.best == sequential.best
    assert [score for _, score in forked.history] == [score for _, score in sequential.history]


def test_tuning_from_a_profile_with_class_overrides_never_loses_to_it():
    retrievals, queries, qrels = _case()
    space = SearchSpace(windows=(50,), weight_values=(0.0, 1.0), legs=("bm25", "text"))
    english = BlendProfile(weights={"bm25": 0.0, "text": 1.0}, window=50)
    chinese = BlendProfile(weights={"bm25": 1.0, "text": 0.0}, window=50)
    base = BlendProfile(weights={"bm25": 1.0, "text": 1.0}, window=50, classes={"short": english, "zh": chinese})
    from hybrid_search.evaluation.tuning import ndcg_objective

    assert ndcg_objective(retrievals, queries, qrels)(base) == pytest.approx(1.0)
    tuned, _ = tune_per_class(retrievals, queries, qrels, base, space, min_queries=5)
    assert ndcg_objective(retrievals, queries, qrels)(tuned) == pytest.approx(1.0)


def test_leave_one_intent_out_shows_what_tuning_does_for_an_intent_it_never_saw():
    retrievals, queries, qrels = _case()
    space = SearchSpace(windows=(50,), weight_values=(0.0, 1.0), legs=("bm25", "text"))
    base = BlendProfile(weights={"bm25": 1.0, "text": 1.0}, window=50)
    results = {r.intent: r for r in leave_one_intent_out(retrievals, queries, qrels, base, space, min_class_queries=3)}
    assert set(results) == {"keyword", "chinese"}
    english = results["keyword"]
    assert (english.train_queries, english.test_queries) == (12, 12)
    assert (english.best_leg, english.best_leg_score) == ("text alone", pytest.approx(1.0))
    # tuned on Chinese alone, where bm25 wins, the profile loses the English queries it never saw
    assert english.test_score < english.best_leg_score
    assert len(english.per_query) == 12  # each left-out query's score, for paired tests
    assert sum(english.per_query.values()) / 12 == pytest.approx(english.test_score)
    assert results["chinese"].best_leg == "bm25 alone"


def test_condensed_lists_score_only_what_is_judged():
    """Judgments of what was shown (clicks) say nothing of the rest: condensed lists leave the
    unjudged out of the ranking instead of counting them irrelevant."""
    from hybrid_search.evaluation.tuning import ndcg_objective

    legs = {"text": [("new", 3.0), ("good", 2.0), ("bad", 1.0)]}
    retrievals = {"q": Retrieval(legs=legs, intent=None, query_class="short", encode_ms=0, search_ms=0)}
    queries = [Query(id="q", kind="keyword", text="shirt")]
    qrels = {"q": {"good": 2, "bad": 0}}  # "new" was never shown, so never judged
    profile = BlendProfile(weights={"text": 1.0, "bm25": 0.0, "fused": 0.0, "image": 0.0, "attributes": 0.0})
    assert ndcg_objective(retrievals, queries, qrels)(profile) == pytest.approx(1 / 1.585, abs=1e-3)
    assert ndcg_objective(retrievals, queries, qrels, judged_only=True)(profile) == pytest.approx(1.0)


def test_shrinkage_pulls_weights_tuned_on_few_queries_towards_the_prior():
    from hybrid_search.evaluation.tuning import shrink

    prior = BlendProfile(weights={"bm25": 1.0, "text": 0.0}, window=50)
    tuned = BlendProfile(normalisation="l2", weights={"bm25": 0.0, "text": 2.0}, window=100)
    half = shrink(tuned, prior, queries=10, prior_queries=10)
    assert (half.weight("bm25"), half.weight("text")) == (0.5, 1.0)
    assert (half.normalisation, half.window) == ("l2", 100)  # discrete choices stay tuned's
    many = shrink(tuned, prior, queries=990, prior_queries=10)
    assert (many.weight("bm25"), many.weight("text")) == (0.01, 1.98)
    assert shrink(tuned, prior, queries=10, prior_queries=0) == tuned


def test_shrunk_class_profiles_are_kept_only_where_they_still_win():
    retrievals, queries, qrels = _case()
    space = SearchSpace(windows=(50,), weight_values=(0.0, 0.5, 1.0), legs=("bm25", "text"))
    base = BlendProfile(weights={"bm25": 1.0, "text": 1.0}, window=50)
    from hybrid_search.evaluation.tuning import ndcg_objective

    score = ndcg_objective(retrievals, queries, qrels)
    chinese = ndcg_objective(retrievals, [q for q in queries if q.kind == "chinese"], qrels)
    plain, _ = tune_per_class(retrievals, queries, qrels, base, space, min_queries=5)
    some, _ = tune_per_class(retrievals, queries, qrels, base, space, min_queries=5, prior_queries=4)
    # 12 Chinese queries against a prior worth 4: a quarter of the way back, and still a class of its own
    assert set(plain.classes) == set(some.classes) == {"zh"}
    assert some.classes["zh"].weights != plain.classes["zh"].weights
    assert chinese(some) > chinese(some.model_copy(update={"classes": {}}))
    assert score(plain) == pytest.approx(1.0)
    # a prior worth 1000 queries leaves the untuned blend, which no class profile can beat any more
    strong, _ = tune_per_class(retrievals, queries, qrels, base, space, min_queries=5, prior_queries=1000)
    assert strong.classes == {}
    assert strong.weight("bm25") == pytest.approx(strong.weight("text"), abs=0.05)
    assert score(base) <= score(strong) < score(plain)  # never below where it started

"""Tuning blend profiles on judged queries: a grid over the discrete choices, coordinate ascent over
leg weights, per-query-class profiles, shrinkage of what few queries tuned towards its prior, and
k-fold and leave-one-intent-out cross-validation to tell how much of a gain survives on queries the
tuner did not see.

The optimisers only see an objective ``profile -> score``; the objective used here blends
pre-retrieved legs in memory (evaluation/runner.py), so a trial costs milliseconds per query.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.pool
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.report import mean, score_queries
from hybrid_search.evaluation.runner import Retrievals, rank_all, single_leg_profiles
from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.ranking.query_class import QUERY_CLASSES

Objective = Callable[[BlendProfile], float]
# What the starting profile is worth, in judged queries, when a tuned one is shrunk towards it
# (``shrink``): chosen by leave-one-intent-out in bench/relevance/shrinkage.py (10 to 50 all gain
# there; 20 is the smallest with a significant gain).
PRIOR_QUERIES = 20.0
_FORKED: Objective | None = None  # the objective forked scorer processes evaluate


def _score_in_child(profile: BlendProfile) -> float:
    assert _FORKED is not None
    return _FORKED(profile)


class Scorer:
    """Scores profiles with an objective; batches go to ``processes`` forked workers when above 1
    (the objective's data is inherited by the fork, never pickled)."""

    def __init__(self, objective: Objective, processes: int = 1) -> None:
        self.objective = objective
        self.processes = processes
        self._pool: multiprocessing.pool.Pool | None = None

    def __enter__(self) -> Scorer:
        global _FORKED
        # a daemonic process (a Celery prefork child) may not have children: score in-process there
        if self.processes > 1 and not multiprocessing.current_process().daemon:
            _FORKED = self.objective
            self._pool = multiprocessing.get_context("fork").Pool(self.processes)
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def many(self, profiles: Sequence[BlendProfile]) -> list[float]:
        if self._pool is None or len(profiles) < 2:
            return [self.objective(p) for p in profiles]
        return self._pool.map(_score_in_child, profiles)


@dataclass(frozen=True)
class SearchSpace:
    normalisations: tuple[str, ...] = ("min_max", "l2", "z_score")
    combinations: tuple[str, ...] = ("arithmetic", "geometric", "harmonic", "rrf")
    missing: tuple[str, ...] = ("zero", "skip")
    rank_constants: tuple[float, ...] = (5, 10, 20, 40, 60, 100)
    windows: tuple[int, ...] = (50, 100, 200)
    weight_values: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
    legs: tuple[str, ...] = LEG_NAMES


@dataclass
class Trials:
    """Every profile scored, in order; the best seen so far."""

    history: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    best: BlendProfile | None = None
    best_score: float = float("-inf")

    def score(self, scorer: Scorer, profiles: Sequence[BlendProfile]) -> list[float]:
        values = scorer.many(profiles)
        for profile, value in zip(profiles, values, strict=True):
            self.history.append((profile.model_dump(exclude={"classes"}), value))
            if value > self.best_score + 1e-12:
                self.best, self.best_score = profile, value
        return values


def _valid(changes: Mapping[str, Any], base: BlendProfile) -> BlendProfile | None:
    """``base`` with ``changes``, or None if that combination is not a valid profile."""
    try:
        return BlendProfile.model_validate({**base.model_dump(), **changes})
    except ValueError:
        return None


def grid_search(scorer: Scorer, base: BlendProfile, space: SearchSpace, trials: Trials | None = None) -> Trials:
    """Every normalisation x combination x missing x rank constant (RRF only) x window, at base's weights."""
    trials = trials or Trials()
    candidates = []
    for norm, comb, missing, window in itertools.product(
        space.normalisations, space.combinations, space.missing, space.windows
    ):
        if comb == "rrf" and (norm != space.normalisations[0] or missing != space.missing[0]):
            continue  # RRF reads ranks only: normalisation and missing scores do not change it
        constants = space.rank_constants if comb == "rrf" else (base.rank_constant,)
        for constant in constants:
            changes = {
                "normalisation": norm,
                "combination": comb,
                "missing": missing,
                "window": window,
                "rank_constant": constant,
            }
            profile = _valid(changes, base)
            if profile is not None:
                candidates.append(profile)
    trials.score(scorer, candidates)
    return trials


def coordinate_ascent(
    scorer: Scorer, start: BlendProfile, space: SearchSpace, rounds: int = 3, trials: Trials | None = None
) -> Trials:
    """Line search over one coordinate at a time (each leg weight, then each discrete choice), keeping
    the best, until a full round changes nothing (Metzler & Croft's coordinate ascent for IR)."""
    trials = trials or Trials()
    current = start
    (current_score,) = trials.score(scorer, [current])
    coordinates: list[tuple[str, Sequence[Any]]] = [(f"weights.{leg}", space.weight_values) for leg in space.legs]
    coordinates += [
        ("normalisation", space.normalisations),
        ("combination", space.combinations),
        ("missing", space.missing),
        ("rank_constant", space.rank_constants),
        ("window", space.windows),
    ]
    for _ in range(rounds):
        improved = False
        for name, values in coordinates:
            candidates = []
            for value in values:
                if name.startswith("weights."):
                    weights = {**current.weights, name.removeprefix("weights."): value}
                    if not any(weights.values()):
                        continue
                    candidate = _valid({"weights": weights}, current)
                else:
                    candidate = _valid({name: value}, current)
                if candidate is not None and candidate != current:
                    candidates.append(candidate)
            for candidate, score in zip(candidates, trials.score(scorer, candidates), strict=True):
                if score > current_score + 1e-9:  # the first of equal bests, as a sequential scan keeps
                    current, current_score, improved = candidate, score, True
        if not improved:
            break
    return trials


def tune(objective: Objective, base: BlendProfile, space: SearchSpace, rounds: int = 3, processes: int = 1) -> Trials:
    """The base, a grid over the discrete choices at its weights, then coordinate ascent from the
    best so far: the result never scores below the base."""
    with Scorer(objective, processes) as scorer:
        trials = Trials()
        trials.score(scorer, [base])
        grid_search(scorer, base, space, trials)
        return coordinate_ascent(scorer, trials.best or base, space, rounds, trials)


def _rankings(
    retrievals: Retrievals, profile: BlendProfile, qrels: Mapping[str, Mapping[str, int]], judged_only: bool
) -> dict[str, list[str]]:
    """Each query's blended ranking; condensed to its judged products when ``judged_only``."""
    rankings = rank_all(retrievals, profile)
    if judged_only:
        rankings = {qid: [d for d in ranked if d in qrels.get(qid, {})] for qid, ranked in rankings.items()}
    return rankings


def ndcg_objective(
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    metric: str = "ndcg@10",
    judged_only: bool = False,
) -> Objective:
    """Mean ``metric`` of ``queries`` when their retrieved legs are blended with the profile.

    ``judged_only`` scores condensed lists (Sakai, 2007): each ranking without the products its query
    has no judgment of, so that judgments that cover only what was once shown (clicks) reward the
    order of what they judge, and do not punish a profile for bringing up what nobody saw."""
    subset = {q.id: retrievals[q.id] for q in queries if q.id in retrievals}

    def objective(profile: BlendProfile) -> float:
        return mean(score_queries(_rankings(subset, profile, qrels, judged_only), queries, qrels), metric)

    return objective


def shrink(tuned: BlendProfile, prior: BlendProfile, queries: int, prior_queries: float) -> BlendProfile:
    """``tuned`` with its leg weights pulled towards ``prior``'s, as a mean of ``queries`` judged
    queries is pulled towards a prior worth ``prior_queries`` of them: each weight becomes
    (queries * tuned + prior_queries * prior) / (queries + prior_queries). A profile tuned on ten
    queries moves half way from its prior; one tuned on five hundred keeps nearly all it found.
    Discrete choices (normalisation, combination, window) are tuned's: they have no midpoint."""
    if prior_queries <= 0 or queries <= 0:
        return tuned
    keep = queries / (queries + prior_queries)
    weights = {
        leg: round(keep * tuned.weight(leg) + (1 - keep) * prior.weight(leg), 4)
        for leg in tuned.weights.keys() | prior.weights.keys()
    }
    return BlendProfile.model_validate({**tuned.model_dump(), "weights": weights})


def tune_per_class(
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    base: BlendProfile,
    space: SearchSpace,
    rounds: int = 3,
    min_queries: int = 10,
    progress: Callable[[Iterable[str]], Iterable[str]] = iter,
    processes: int = 1,
    judged_only: bool = False,
    prior_queries: float = 0.0,
) -> tuple[BlendProfile, dict[str, Trials]]:
    """One profile for all queries (base's own class overrides set aside), then one per query class
    with at least ``min_queries`` queries, started from the better of base's override and the new
    overall profile; a class keeps its profile only where it beats the overall one on its queries.
    With ``prior_queries``, the result is then shrunk (``shrink_per_class``)."""
    plain = base.model_copy(update={"classes": {}})
    all_trials = {
        "all": tune(
            ndcg_objective(retrievals, queries, qrels, judged_only=judged_only), plain, space, rounds, processes
        )
    }
    overall = all_trials["all"].best or plain
    classes: dict[str, BlendProfile] = {}
    for name in progress(QUERY_CLASSES):
        members = _members(retrievals, queries, name)
        if len(members) < min_queries:
            continue
        objective = ndcg_objective(retrievals, members, qrels, judged_only=judged_only)
        start = max((base.classes.get(name, overall), overall), key=objective)  # type: ignore[call-overload]
        trials = tune(objective, start, space, rounds, processes)
        all_trials[name] = trials
        if trials.best is not None and trials.best_score > objective(overall) + 1e-9:
            classes[name] = trials.best
    tuned = overall.model_copy(update={"classes": classes})
    return shrink_per_class(tuned, base, retrievals, queries, qrels, prior_queries, judged_only), all_trials


def shrink_per_class(
    tuned: BlendProfile,
    base: BlendProfile,
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    prior_queries: float,
    judged_only: bool = False,
) -> BlendProfile:
    """A per-class tuning result shrunk: its overall profile towards ``base`` (by all ``queries``),
    each class profile towards that shrunk overall one (by the class's queries). Neither may end
    below where it started on its own queries: an overall profile that would is ``base`` itself (a
    mix of weights tuned under other discrete choices can score below both ends), and a class keeps
    its profile only where, shrunk, it still beats the overall one."""
    if prior_queries <= 0:
        return tuned
    plain = base.model_copy(update={"classes": {}})
    overall = shrink(tuned.model_copy(update={"classes": {}}), plain, len(queries), prior_queries)
    everything = ndcg_objective(retrievals, queries, qrels, judged_only=judged_only)
    if everything(overall) < everything(plain) - 1e-9:
        overall = plain
    classes = {}
    for name, profile in tuned.classes.items():
        members = _members(retrievals, queries, name)
        objective = ndcg_objective(retrievals, members, qrels, judged_only=judged_only)
        shrunk = shrink(profile, overall, len(members), prior_queries)
        if objective(shrunk) > objective(overall) + 1e-9:
            classes[name] = shrunk
    return overall.model_copy(update={"classes": classes})


def _members(retrievals: Retrievals, queries: Sequence[Query], query_class: str) -> list[Query]:
    return [q for q in queries if q.id in retrievals and retrievals[q.id].query_class == query_class]


@dataclass(frozen=True)
class FoldResult:
    fold: int
    train_queries: int
    test_queries: int
    train_score: float
    test_score: float
    base_test_score: float


def folds_by_kind(queries: Sequence[Query], folds: int, seed: int = 0) -> list[list[Query]]:
    """``folds`` disjoint query sets, each kind spread evenly over them (stratified)."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Query]] = {}
    for q in queries:
        by_kind.setdefault(q.kind, []).append(q)
    out: list[list[Query]] = [[] for _ in range(folds)]
    offset = 0
    for kind in sorted(by_kind):
        members = by_kind[kind][:]
        rng.shuffle(members)
        for i, q in enumerate(members):
            out[(i + offset) % folds].append(q)
        offset += len(members)
    return out


def cross_validate(
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    base: BlendProfile,
    space: SearchSpace,
    folds: int = 5,
    rounds: int = 3,
    seed: int = 0,
    min_class_queries: int = 10,
    progress: Callable[[Iterable[int]], Iterable[int]] = iter,
    processes: int = 1,
    judged_only: bool = False,
    prior_queries: float = 0.0,
) -> list[FoldResult]:
    """Tune (per class) on k-1 folds, score on the held-out fold, for each fold."""
    parts = folds_by_kind(queries, folds, seed)
    options = {"rounds": rounds, "min_queries": min_class_queries, "processes": processes}
    options |= {"judged_only": judged_only, "prior_queries": prior_queries}
    results = []
    for k in progress(range(folds)):
        test = parts[k]
        train = [q for i, part in enumerate(parts) if i != k for q in part]
        tuned, _ = tune_per_class(retrievals, train, qrels, base, space, **options)
        train_score = ndcg_objective(retrievals, train, qrels, judged_only=judged_only)
        test_score = ndcg_objective(retrievals, test, qrels, judged_only=judged_only)
        results.append(FoldResult(k, len(train), len(test), train_score(tuned), test_score(tuned), test_score(base)))
    return results


@dataclass(frozen=True)
class IntentResult:
    intent: str
    train_queries: int
    test_queries: int
    test_score: float  # the profile tuned on every other intent, on this one
    base_test_score: float  # the untuned base, on this one
    best_leg: str  # the best single leg on this intent, and its score: what a blend must not lose to
    best_leg_score: float
    per_query: dict[str, float] = field(default_factory=dict)  # query id -> test nDCG@10 (paired tests)


def leave_one_intent_out(
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    base: BlendProfile,
    space: SearchSpace,
    rounds: int = 3,
    min_class_queries: int = 10,
    progress: Callable[[Iterable[str]], Iterable[str]] = iter,
    processes: int = 1,
    judged_only: bool = False,
    prior_queries: float = 0.0,
) -> list[IntentResult]:
    """For each intent (query kind): tune (per class) on all the others and score the one left out,
    beside the untuned base and the best single leg there. k-fold mixes every intent into training;
    this says what tuning does for a kind of query it never saw."""
    options = {"rounds": rounds, "min_queries": min_class_queries, "processes": processes}
    options |= {"judged_only": judged_only, "prior_queries": prior_queries}
    results = []
    for intent in progress(sorted({q.kind for q in queries})):
        test = [q for q in queries if q.kind == intent]
        train = [q for q in queries if q.kind != intent]
        tuned, _ = tune_per_class(retrievals, train, qrels, base, space, **options)
        objective = ndcg_objective(retrievals, test, qrels, judged_only=judged_only)
        legs = {name: objective(profile) for name, profile in single_leg_profiles(base).items()}
        best_leg = max(legs, key=legs.__getitem__)
        rankings = _rankings({q.id: retrievals[q.id] for q in test if q.id in retrievals}, tuned, qrels, judged_only)
        per_query = {r.query_id: r.scores["ndcg@10"] for r in score_queries(rankings, test, qrels)}
        results.append(
            IntentResult(
                intent, len(train), len(test), objective(tuned), objective(base), best_leg, legs[best_leg], per_query
            )
        )
    return results

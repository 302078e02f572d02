"""Tuning blend profiles on judged queries: a grid over the discrete choices, coordinate ascent over
leg weights, per-query-class profiles, and k-fold cross-validation over queries to tell how much of
a gain survives on queries the tuner did not see.

The optimisers only see an objective ``profile -> score``; the objective used here blends
pre-retrieved legs in memory (evaluation/runner.py), so a trial costs milliseconds per query.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybrid_search.evaluation.judgments import Query
from hybrid_search.evaluation.report import mean, score_queries
from hybrid_search.evaluation.runner import Retrievals, rank_all
from hybrid_search.profiles import LEGS, BlendProfile
from hybrid_search.ranking.query_class import QUERY_CLASSES

Objective = Callable[[BlendProfile], float]


@dataclass(frozen=True)
class SearchSpace:
    normalisations: tuple[str, ...] = ("min_max", "l2", "z_score")
    combinations: tuple[str, ...] = ("arithmetic", "geometric", "harmonic", "rrf")
    missing: tuple[str, ...] = ("zero", "skip")
    rank_constants: tuple[float, ...] = (5, 10, 20, 40, 60, 100)
    windows: tuple[int, ...] = (50, 100, 200)
    weight_values: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
    legs: tuple[str, ...] = LEGS


@dataclass
class Trials:
    """Every profile scored, in order; the best seen so far."""

    history: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    best: BlendProfile | None = None
    best_score: float = float("-inf")

    def score(self, objective: Objective, profile: BlendProfile) -> float:
        value = objective(profile)
        self.history.append((profile.model_dump(exclude={"classes"}), value))
        if value > self.best_score + 1e-12:
            self.best, self.best_score = profile, value
        return value


def _valid(changes: Mapping[str, Any], base: BlendProfile) -> BlendProfile | None:
    """``base`` with ``changes``, or None if that combination is not a valid profile."""
    try:
        return BlendProfile.model_validate({**base.model_dump(), **changes})
    except ValueError:
        return None


def grid_search(objective: Objective, base: BlendProfile, space: SearchSpace, trials: Trials | None = None) -> Trials:
    """Every normalisation x combination x missing x rank constant (RRF only) x window, at base's weights."""
    trials = trials or Trials()
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
                trials.score(objective, profile)
    return trials


def coordinate_ascent(
    objective: Objective, start: BlendProfile, space: SearchSpace, rounds: int = 3, trials: Trials | None = None
) -> Trials:
    """Line search over one coordinate at a time (each leg weight, then each discrete choice), keeping
    the best, until a full round changes nothing (Metzler & Croft's coordinate ascent for IR)."""
    trials = trials or Trials()
    current = start
    current_score = trials.score(objective, current)
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
            for value in values:
                if name.startswith("weights."):
                    weights = {**current.weights, name.removeprefix("weights."): value}
                    if not any(weights.values()):
                        continue
                    candidate = _valid({"weights": weights}, current)
                else:
                    candidate = _valid({name: value}, current)
                if candidate is None or candidate == current:
                    continue
                score = trials.score(objective, candidate)
                if score > current_score + 1e-9:
                    current, current_score, improved = candidate, score, True
        if not improved:
            break
    return trials


def tune(objective: Objective, base: BlendProfile, space: SearchSpace, rounds: int = 3) -> Trials:
    """Grid over the discrete choices at the base weights, then coordinate ascent from the best."""
    trials = grid_search(objective, base, space)
    start = trials.best or base
    return coordinate_ascent(objective, start, space, rounds, trials)


def ndcg_objective(
    retrievals: Retrievals, queries: Sequence[Query], qrels: Mapping[str, Mapping[str, int]], metric: str = "ndcg@10"
) -> Objective:
    """Mean ``metric`` of ``queries`` when their retrieved legs are blended with the profile."""
    subset = {q.id: retrievals[q.id] for q in queries if q.id in retrievals}

    def objective(profile: BlendProfile) -> float:
        return mean(score_queries(rank_all(subset, profile), queries, qrels), metric)

    return objective


def tune_per_class(
    retrievals: Retrievals,
    queries: Sequence[Query],
    qrels: Mapping[str, Mapping[str, int]],
    base: BlendProfile,
    space: SearchSpace,
    rounds: int = 3,
    min_queries: int = 10,
    progress: Callable[[Iterable[str]], Iterable[str]] = iter,
) -> tuple[BlendProfile, dict[str, Trials]]:
    """One profile for all queries, then one per query class with at least ``min_queries`` queries;
    the class profiles become the overall profile's ``classes``."""
    all_trials = {"all": tune(ndcg_objective(retrievals, queries, qrels), base, space, rounds)}
    overall = all_trials["all"].best or base
    classes: dict[str, BlendProfile] = {}
    for name in progress(QUERY_CLASSES):
        members = [q for q in queries if q.id in retrievals and retrievals[q.id].query_class == name]
        if len(members) < min_queries:
            continue
        trials = tune(ndcg_objective(retrievals, members, qrels), overall, space, rounds)
        all_trials[name] = trials
        if trials.best is not None and trials.best != overall:
            classes[name] = trials.best
    return overall.model_copy(update={"classes": classes}), all_trials


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
) -> list[FoldResult]:
    """Tune (per class) on k-1 folds, score on the held-out fold, for each fold."""
    parts = folds_by_kind(queries, folds, seed)
    results = []
    for k in progress(range(folds)):
        test = parts[k]
        train = [q for i, part in enumerate(parts) if i != k for q in part]
        tuned, _ = tune_per_class(retrievals, train, qrels, base, space, rounds, min_class_queries)
        results.append(
            FoldResult(
                k,
                len(train),
                len(test),
                ndcg_objective(retrievals, train, qrels)(tuned),
                ndcg_objective(retrievals, test, qrels)(tuned),
                ndcg_objective(retrievals, test, qrels)(base),
            )
        )
    return results

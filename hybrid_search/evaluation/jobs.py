"""The evaluation and tuning runs behind ``hybrid-search eval|tune`` and the admin /eval, /tune tasks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from hybrid_search.core.catalog import product_id_of
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.clicks import coec, judgment_list, position_ctr, shown_from_events
from hybrid_search.evaluation.judgments import load_judgments
from hybrid_search.evaluation.report import Comparison, compare, mean, score_queries, summarise, write_report
from hybrid_search.evaluation.runner import (
    rank_all,
    retrieve_all,
    run_profiles,
    single_leg_profiles,
)
from hybrid_search.evaluation.tuning import (
    PRIOR_QUERIES,
    FoldResult,
    IntentResult,
    SearchSpace,
    cross_validate,
    leave_one_intent_out,
    tune_per_class,
)
from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile, StoredProfile, every_leg
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.events import iter_search_events
from hybrid_search.stores.opensearch.profiles import save_version

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterable[T]]


Summary = dict[str, dict[str, dict[str, float]]]  # run -> intent ("all" too) -> metric -> mean


@dataclass(frozen=True)
class CrossValidation:
    """k-fold cross-validation of a tuning: each fold's scores, and the held-out means."""

    folds: list[FoldResult]

    @property
    def mean_test(self) -> float | None:
        """The tuned profile's mean nDCG@10 on the held-out folds (None without folds)."""
        return sum(f.test_score for f in self.folds) / len(self.folds) if self.folds else None

    @property
    def mean_base_test(self) -> float | None:
        """The base profile's, on the same folds."""
        return sum(f.base_test_score for f in self.folds) / len(self.folds) if self.folds else None

    def to_json(self) -> dict[str, Any]:
        folds = [asdict(f) for f in self.folds]
        return {"folds": folds, "mean_test": self.mean_test, "mean_base_test": self.mean_base_test}


@dataclass(frozen=True)
class EvalResult:
    """What an evaluation found: each run's summary (per intent and ``all``), the paired comparisons
    with the first run, and the reports written. ``to_json`` is what the task and the API return."""

    summary: Summary
    comparisons: dict[str, Comparison]
    reports: dict[str, str]  # format (md, json, png...) -> path

    def ndcg(self, run: str, intent: str = "all") -> float:
        """``run``'s mean nDCG@10 on ``intent``'s queries (every query: ``all``)."""
        return self.summary[run][intent]["ndcg@10"]

    def best_leg(self) -> float:
        """The best single leg's mean nDCG@10: what a tuned default must not fall below."""
        return max(self.ndcg(run) for run in self.summary if run.endswith(" alone"))

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "comparisons": {k: asdict(c) for k, c in self.comparisons.items()},
            "reports": self.reports,
        }


@dataclass(frozen=True)
class TuneResult(EvalResult):
    """What a tuning found besides its evaluation (the base, the tuned profile, each leg alone): the
    cross-validation and leave-one-intent-out results, the tuned profile, and where it was saved."""

    cross_validation: CrossValidation
    leave_one_intent_out: list[IntentResult]
    tuned_profile: BlendProfile
    judged_only: bool
    prior_queries: float
    saved: tuple[str, int] | None  # the profile's name and version, where it was saved

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {
            "cross_validation": self.cross_validation.to_json(),
            "leave_one_intent_out": [asdict(r) for r in self.leave_one_intent_out],
            "tuned_profile": self.tuned_profile.model_dump(mode="json"),
            "judged_only": self.judged_only,
            "prior_queries": self.prior_queries,
            "saved": {"name": self.saved[0], "version": self.saved[1]} if self.saved else None,
        }


def no_progress(items: Iterable[T], _desc: str, _total: int) -> Iterable[T]:
    return items


def evaluate(
    service: SearchService,
    queries_path: Path | None,
    qrels_path: Path,
    profiles: Mapping[str, BlendProfile],
    out_dir: Path,
    name: str = "eval",
    with_single_legs: bool = False,
    progress: Progress = no_progress,
) -> EvalResult:
    """Score each named profile (and each leg alone) on the judged queries; write the report.

    The first profile is the baseline the others are compared with, query by query.
    """
    queries, qrels = load_judgments(queries_path, qrels_path)
    base_dir = (queries_path or qrels_path).parent
    runs = dict(profiles)
    if with_single_legs:
        runs |= single_leg_profiles(next(iter(profiles.values())))
    ranker = service.models.current().ranker  # profiles are scored as /search serves them
    window = max(*(p.window for p in runs.values()), ranker.depth if ranker else 0)
    first = next(iter(profiles.values()))
    retrievals = retrieve_all(
        service,
        queries,
        base_dir,
        every_leg(window, first.attribute_weights),
        lambda items: progress(items, "retrieve", len(queries)),
    )
    rankings = run_profiles(retrievals, runs, ranker)
    rows = {run: score_queries(ranked, queries, qrels) for run, ranked in rankings.items()}
    baseline = next(iter(rows))
    comparisons = {f"{run} vs {baseline}": compare(rows[baseline], r) for run, r in rows.items() if run != baseline}
    paths = write_report(out_dir, name, rows, comparisons, extra={"queries": str(queries_path or qrels_path)})
    return EvalResult(
        summary={run: summarise(r) for run, r in rows.items()},
        comparisons=comparisons,
        reports={k: str(v) for k, v in paths.items()},
    )


def tune(
    service: SearchService,
    queries_path: Path | None,
    qrels_path: Path,
    base: StoredProfile,
    out_dir: Path,
    space: SearchSpace | None = None,
    folds: int = 5,
    rounds: int = 3,
    leave_intents_out: bool = False,
    save_as: str | None = None,
    name: str = "tune",
    progress: Progress = no_progress,
    processes: int | None = None,
    judged_only: bool = False,
    prior_queries: float | None = None,
) -> TuneResult:
    """Tune per query class from ``base``, cross-validate (k-fold, and leave-one-intent-out when asked),
    report, and optionally save as a new version. ``judged_only`` scores condensed lists (for click
    judgments, which judge only what was shown); ``prior_queries`` shrinks what few queries tuned
    towards where it started (tuning.shrink)."""
    space = space or SearchSpace()
    prior_queries = PRIOR_QUERIES if prior_queries is None else prior_queries
    queries, qrels = load_judgments(queries_path, qrels_path)
    base_dir = (queries_path or qrels_path).parent
    retrievals = retrieve_all(
        service,
        queries,
        base_dir,
        every_leg(max(space.windows), base.profile.attribute_weights),
        lambda items: progress(items, "retrieve", len(queries)),
    )
    processes = processes or os.cpu_count() or 1
    tuned, trials = tune_per_class(
        retrievals,
        queries,
        qrels,
        base.profile,
        space,
        rounds,
        progress=lambda c: progress(c, "tune per class", 4),
        processes=processes,
        judged_only=judged_only,
        prior_queries=prior_queries,
    )
    folds_out = (
        cross_validate(
            retrievals,
            queries,
            qrels,
            base.profile,
            space,
            folds,
            rounds,
            progress=lambda k: progress(k, "cross-validate", folds),
            processes=processes,
            judged_only=judged_only,
            prior_queries=prior_queries,
        )
        if folds > 1
        else []
    )
    intents_out = (
        leave_one_intent_out(
            retrievals,
            queries,
            qrels,
            base.profile,
            space,
            rounds,
            progress=lambda k: progress(k, "leave one intent out", len({q.kind for q in queries})),
            processes=processes,
            judged_only=judged_only,
            prior_queries=prior_queries,
        )
        if leave_intents_out
        else []
    )
    runs = {f"{base.name}@{base.version}": base.profile, "tuned": tuned} | single_leg_profiles(base.profile)
    rows = {run: score_queries(rankings, queries, qrels) for run, rankings in run_profiles(retrievals, runs).items()}
    baseline = f"{base.name}@{base.version}"
    comparisons = {f"tuned vs {baseline}": compare(rows[baseline], rows["tuned"])}
    sweeps = weight_sweeps(retrievals, queries, qrels, tuned.model_copy(update={"classes": {}}), space)
    cv = CrossValidation(folds_out)
    extra = {
        "tuned_profile": tuned.model_dump(mode="json"),
        "cross_validation": cv.to_json(),
        "leave_one_intent_out": [asdict(r) for r in intents_out],
        "trials": {k: len(t.history) for k, t in trials.items()},
        "judged_only": judged_only,
        "prior_queries": prior_queries,
    }
    paths = write_report(out_dir, name, rows, comparisons, extra, sweeps)
    saved = None
    if save_as:
        tuned_all, base_all = summarise(rows["tuned"])["all"], summarise(rows[baseline])["all"]
        note = (
            f"tuned on {(queries_path or qrels_path).name}: "
            f"nDCG@10 {tuned_all['ndcg@10']:.3f} (base {base_all['ndcg@10']:.3f}), "
            f"{folds}-fold CV test nDCG@10 {cv.mean_test or float('nan'):.3f}; report {paths['md']}"
        )
        stored = save_version(service.client, service.settings.profiles_index, save_as, tuned, note)
        saved = (stored.name, stored.version)
    return TuneResult(
        summary={run: summarise(r) for run, r in rows.items()},
        comparisons=comparisons,
        cross_validation=cv,
        leave_one_intent_out=intents_out,
        tuned_profile=tuned,
        judged_only=judged_only,
        prior_queries=prior_queries,
        saved=saved,
        reports={k: str(v) for k, v in paths.items()},
    )


@dataclass(frozen=True)
class ClickJudgments:
    """A judgment list made from clicks: where it was written, and what it rests on."""

    path: Path
    queries: int  # queries judged
    ratings: int  # (query, product) pairs rated
    impressions: int
    clicks: int
    position_ctr: dict[str, float]  # rank -> click-through rate, best first

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"path": str(self.path)}


def judgments_from_events(
    client: OpenSearchClient, settings: Settings, path: Path, min_impressions: int = 1
) -> ClickJudgments:
    """Implicit judgments (COEC over the events index's impressions and clicks) written to ``path``
    as a Search Relevance Workbench judgment list, which ``eval`` and ``tune`` read. Products are
    named by their merchant's own ids, as judgment sets name them."""
    if min_impressions < 1:
        raise InvalidInputError("min_impressions", "must be at least 1")
    shown = [
        replace(s, doc=product_id_of(s.doc))
        for s in shown_from_events(iter_search_events(client, settings.events_alias))
    ]
    if not shown:
        raise InvalidInputError("events", "no impressions or clicks of logged searches in the events index")
    ratings = coec(shown, min_impressions)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(judgment_list(ratings, path.stem), ensure_ascii=False, indent=1), encoding="utf-8")
    return ClickJudgments(
        path=path,
        queries=len(ratings),
        ratings=sum(len(docs) for docs in ratings.values()),
        impressions=len(shown),
        clicks=sum(s.clicked for s in shown),
        position_ctr={str(p): round(c, 4) for p, c in sorted(position_ctr(shown).items())},
    )


def weight_sweeps(
    retrievals: Mapping[str, Any],
    queries: list[Any],
    qrels: Mapping[str, Mapping[str, int]],
    profile: BlendProfile,
    space: SearchSpace,
) -> dict[str, list[tuple[float, float]]]:
    """Mean nDCG@10 as each leg's weight moves over the space's values, the others held."""
    out = {}
    for leg in LEG_NAMES:
        points = []
        for value in space.weight_values:
            weights = {**profile.weights, leg: value}
            if any(weights.values()):
                rankings = rank_all(retrievals, profile.model_copy(update={"weights": weights}))
                points.append((value, mean(score_queries(rankings, queries, qrels))))
        out[leg] = points
    return out

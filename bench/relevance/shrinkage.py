"""How much a tuned profile should be shrunk towards its untuned start: leave-one-intent-out of
``tune`` (per class) from the untuned blend, shrunk at several prior strengths
(``tuning.shrink_per_class``: a prior worth N queries), over the dev intents and the derived intents.

Leave-one-intent-out is the question that matters: tuned on every other intent, how does the profile
do on a kind of query it never saw. Each split is tuned once; shrinkage is applied to its result,
as ``tune --prior-queries`` does. The dev set's attribute-combination and photo queries are left
out: they add tuning time, not intents.

Needs what bench/relevance/run.py needs, and the derived intents (bench/relevance/derived.py).

    python bench/relevance/shrinkage.py [--priors 0 10 50] [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import Query, load_qrels, load_queries
from hybrid_search.evaluation.report import QueryScore, compare, score_queries
from hybrid_search.evaluation.runner import Retrievals, rank_all, retrieve_all, single_leg_profiles
from hybrid_search.evaluation.tuning import SearchSpace, shrink_per_class, tune_per_class
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile, every_leg
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
UNTUNED = BlendProfile(weights={"bm25": 0.4, "text": 0.4, "fused": 0.2, "image": 1.0})  # as in run.py


def main() -> None:
    settings = Settings()
    derived = settings.judgments_root / "derived"
    parser = argparse.ArgumentParser()
    parser.add_argument("--priors", type=float, nargs="+", default=[0.0, 10.0, 50.0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()

    service = SearchService.from_services(Services.from_settings(settings))
    queries, qrels = [], {}
    for q, r in (
        (DATA / "queries-dev-intents.jsonl", DATA / "qrels-dev-intents.tsv"),
        (derived / "queries-derived.jsonl", derived / "qrels-derived.tsv"),
    ):
        queries += load_queries(q)
        qrels |= load_qrels(r)
    space = SearchSpace()
    collect = every_leg(max(space.windows), UNTUNED.attribute_weights)
    retrievals = retrieve_all(service, queries, DATA, collect, lambda items: tqdm(items, total=len(queries)))

    rows: dict[str, dict] = {}
    per_prior: dict[float, list[QueryScore]] = {p: [] for p in args.priors}
    for intent in sorted({q.kind for q in queries}):
        started = time.monotonic()
        test = [q for q in queries if q.kind == intent]
        train = [q for q in queries if q.kind != intent]
        tuned, _ = tune_per_class(retrievals, train, qrels, UNTUNED, space, processes=2)  # shrunk below
        legs = {name: _scores(retrievals, test, qrels, leg) for name, leg in single_leg_profiles(UNTUNED).items()}
        best_leg = max(legs, key=lambda name: mean(legs[name]))
        row = {"queries": len(test), "untuned": mean(_scores(retrievals, test, qrels, UNTUNED))}
        row["best leg"] = f"{best_leg.removesuffix(' alone')} {mean(legs[best_leg]):.3f}"
        for prior in args.priors:
            shrunk = shrink_per_class(tuned, UNTUNED, retrievals, train, qrels, prior)
            scores = _scores(retrievals, test, qrels, shrunk)
            per_prior[prior] += scores
            row[prior] = mean(scores)
            row[f"{prior} below best leg"] = mean(scores) < mean(legs[best_leg])
        rows[intent] = row
        print(f"{intent}: {time.monotonic() - started:.0f} s", file=sys.stderr)

    head = ["left out", "queries", "untuned", "best leg"] + [f"prior {p:g}" for p in args.priors]
    lines = [
        "# Shrinkage towards the untuned blend",
        "",
        "Leave-one-intent-out nDCG@10: tuned (per class) from the untuned blend on every other intent, shrunk",
        "with a prior worth N queries, scored on the intent left out.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for intent, row in rows.items():
        cells = [intent, str(row["queries"]), f"{row['untuned']:.3f}", row["best leg"]]
        lines.append("| " + " | ".join(cells + [f"{row[p]:.3f}" for p in args.priors]) + " |")
    means = [mean(per_prior[p]) for p in args.priors]
    lines.append("| all left-out queries | | | | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    below = [sum(row[f"{p} below best leg"] for row in rows.values()) for p in args.priors]
    lines.append("| intents below their best leg | | | | " + " | ".join(str(n) for n in below) + " |")
    lines += ["", "Paired over every left-out query (each scored by the profile tuned without its intent):", ""]
    for p in args.priors[1:]:
        c = compare(per_prior[args.priors[0]], per_prior[p])
        lines.append(
            f"- prior {p:g} vs {args.priors[0]:g}: nDCG@10 {c.baseline:.3f} → {c.candidate:.3f} "
            f"({c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f})"
        )
    text = "\n".join(lines) + "\n"
    (args.out / "results-shrinkage.md").write_text(text)
    print(text)


def _scores(retrievals: Retrievals, queries: list[Query], qrels: dict, profile: BlendProfile) -> list[QueryScore]:
    rankings = rank_all({q.id: retrievals[q.id] for q in queries}, profile)
    return score_queries(rankings, queries, qrels)


def mean(scores: list[QueryScore]) -> float:
    return sum(s.scores["ndcg@10"] for s in scores) / len(scores)


if __name__ == "__main__":
    main()

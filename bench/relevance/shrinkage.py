"""How much a tuned profile should be shrunk towards its untuned start: leave-one-intent-out and
5-fold cross-validation of ``tune`` from the untuned blend, at several prior strengths
(``tuning.shrink``: a prior worth N queries), over the dev intents and the derived intents.

Leave-one-intent-out is the question that matters (tuned on every other intent, how does the profile
do on a kind of query it never saw); k-fold mixes every intent into training and says less. Photo
and attribute-combination dev queries are left out: they add retrieval time, not intents.

Needs what bench/relevance/run.py needs, and the derived intents (bench/relevance/derived.py).

    python bench/relevance/shrinkage.py [--priors 0 10 50] [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.report import QueryScore, compare
from hybrid_search.evaluation.runner import collecting_profile, retrieve_all
from hybrid_search.evaluation.tuning import SearchSpace, cross_validate, leave_one_intent_out
from hybrid_search.profiles import BlendProfile
from hybrid_search.search import SearchService
from hybrid_search.services import Services
from hybrid_search.settings import Settings

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
    collect = collecting_profile(max(space.windows), UNTUNED.attribute_weights)
    retrievals = retrieve_all(service, queries, DATA, collect, lambda items: tqdm(items, total=len(queries)))

    loio: dict[float, dict] = {}
    folds: dict[float, list] = {}
    for prior in args.priors:
        print(f"prior worth {prior:g} queries", file=sys.stderr)
        loio[prior] = {
            r.intent: r
            for r in leave_one_intent_out(retrievals, queries, qrels, UNTUNED, space, processes=2, prior_queries=prior)
        }
        folds[prior] = cross_validate(retrievals, queries, qrels, UNTUNED, space, processes=2, prior_queries=prior)

    intents = sorted(loio[args.priors[0]])
    head = ["left out", "queries", "untuned", "best leg"] + [f"prior {p:g}" for p in args.priors]
    lines = [
        "# Shrinkage towards the untuned blend",
        "",
        "Leave-one-intent-out nDCG@10: tuned from the untuned blend on every other intent, scored on this one.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for intent in intents:
        first = loio[args.priors[0]][intent]
        cells = [intent, str(first.test_queries), f"{first.base_test_score:.3f}"]
        cells.append(f"{first.best_leg.removesuffix(' alone')} {first.best_leg_score:.3f}")
        cells += [f"{loio[p][intent].test_score:.3f}" for p in args.priors]
        lines.append("| " + " | ".join(cells) + " |")
    means = [sum(loio[p][i].test_score for i in intents) / len(intents) for p in args.priors]
    lines.append("| mean of intents | | | | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    kfold = [sum(f.test_score for f in folds[p]) / len(folds[p]) for p in args.priors]
    lines.append("| 5-fold CV, held-out mean | | | | " + " | ".join(f"{m:.3f}" for m in kfold) + " |")
    losses = [sum(loio[p][i].test_score < loio[p][i].best_leg_score for i in intents) for p in args.priors]
    lines.append("| intents below their best leg | | | | " + " | ".join(str(n) for n in losses) + " |")
    # the per-query paired test of each prior against none, over every left-out query
    lines += ["", "Paired over every left-out query (each scored by the profile tuned without its intent):", ""]
    per_prior = {
        p: [QueryScore(qid, i, {"ndcg@10": v}) for i in intents for qid, v in loio[p][i].per_query.items()]
        for p in args.priors
    }
    for p in args.priors[1:]:
        c = compare(per_prior[args.priors[0]], per_prior[p])
        lines.append(
            f"- prior {p:g} vs {args.priors[0]:g}: nDCG@10 {c.baseline:.3f} → {c.candidate:.3f} "
            f"({c.wins} wins / {c.losses} losses / {c.ties} ties, p = {c.p_value:.4f})"
        )
    text = "\n".join(lines) + "\n"
    (args.out / "results-shrinkage.md").write_text(text)
    (args.out / "results-shrinkage.json").write_text(
        json.dumps({str(p): {i: loio[p][i].test_score for i in intents} for p in args.priors}, indent=1)
    )
    print(text)


if __name__ == "__main__":
    main()

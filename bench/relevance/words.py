"""How much the attributes leg should count a query's catalog words (brands, materials, patterns):
the default profile with the ``words`` attribute weight swept, per intent, on the dev queries and
the two dev intents together, and the weight chosen leave-one-intent-out (for each intent, the
weight best on all the others, scored on the one left out).

Needs what bench/relevance/run.py needs, and attribute heads trained with the catalog lexicon
(``hybrid-search train-attributes``).

    python bench/relevance/words.py [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_qrels, load_queries, query_products
from hybrid_search.evaluation.report import compare, mean, score_queries, summarise
from hybrid_search.evaluation.runner import rank_all, retrieve_all, single_leg_profiles
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import every_leg
from hybrid_search.stores.opensearch.queries import WORDS, build_attribute_query, leg_body
from hybrid_search.stores.opensearch.search import run_legs
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
WINDOW = 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    service = SearchService.from_services(Services.from_settings(Settings()))
    if service.understanding.attributes is None or service.understanding.attributes.lexicon is None:
        raise SystemExit("train the attribute heads first (hybrid-search train-attributes): they carry the lexicon")
    queries = load_queries(DATA / "queries-dev.jsonl") + load_queries(DATA / "queries-dev-intents.jsonl")
    qrels = load_qrels(DATA / "qrels-dev.tsv") | load_qrels(DATA / "qrels-dev-intents.tsv")
    default = service.profiles.get("default").profile
    base_weights = {**default.attribute_weights, WORDS: 0.0}
    collect = every_leg(WINDOW, base_weights)
    progress = lambda items: tqdm(items, total=len(queries), desc="legs", file=sys.stderr)  # noqa: E731
    retrievals = {0.0: retrieve_all(service, queries, DATA, collect, progress)}
    with_words = {}
    for query in queries:
        if query.image:
            continue
        exclude = tuple(sorted(query_products([query])))
        understood = service.understanding.understand(SearchRequest(q=query.text), None, collect, exclude)
        if WORDS in (understood.inputs.intent or {}):
            with_words[query.id] = understood
    for weight in WEIGHTS[1:]:  # only the attributes leg of queries with catalog words changes
        weights = {**base_weights, WORDS: weight}
        runs = dict(retrievals[0.0])
        for qid, understood in with_words.items():
            body = leg_body(WINDOW, build_attribute_query(understood.inputs.intent, weights, understood.filters))
            hits = run_legs(service.client, service.settings.products_alias, {"attributes": body})["attributes"]
            runs[qid] = replace(runs[qid], legs={**runs[qid].legs, "attributes": [(h.doc_id, h.score) for h in hits]})
        retrievals[weight] = runs

    kinds = list(dict.fromkeys(q.kind for q in queries))
    rows = {w: score_queries(rank_all(r, default), queries, qrels) for w, r in retrievals.items()}
    legs = {
        name: score_queries(rank_all(retrievals[0.0], p), queries, qrels)
        for name, p in single_leg_profiles(default).items()
    }

    def per_kind(scored) -> dict[str, float]:
        return {kind: mean([r for r in scored if r.kind == kind]) for kind in kinds}

    lines = [
        f"Queries with catalog words: {len(with_words)} of {len(queries)} "
        f"({', '.join(f'{k} {sum(q.kind == k and q.id in with_words for q in queries)}' for k in kinds)}).",
        "",
        "| run (nDCG@10) | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for name, scored in legs.items():
        if name != "image alone" and name != "fused alone":
            lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in per_kind(scored).values()) + " |")
    for weight, scored in rows.items():
        lines.append(f"| default, words {weight} | " + " | ".join(f"{v:.3f}" for v in per_kind(scored).values()) + " |")
    lines += ["", "Leave one intent out: the words weight best on every other intent, scored on the one left out.", ""]
    lines += [
        "| left out | weight chosen on the rest | nDCG@10 | with words 0 | paired test vs words 0 |",
        "|---|---|---|---|---|",
    ]
    for kind in kinds:
        rest = {w: mean([r for r in scored if r.kind != kind]) for w, scored in rows.items()}
        chosen = max(rest, key=rest.__getitem__)
        held = [r for r in rows[chosen] if r.kind == kind]
        before = [r for r in rows[0.0] if r.kind == kind]
        c = compare(before, held)
        lines.append(
            f"| {kind} | {chosen} | {mean(held):.3f} | {mean(before):.3f} | "
            f"{c.wins} wins / {c.losses} losses, p = {c.p_value:.4f} |"
        )
    overall = {w: summarise(scored)["all"]["ndcg@10"] for w, scored in rows.items()}
    lines += ["", "All queries: " + ", ".join(f"words {w}: {v:.3f}" for w, v in overall.items())]
    table = "\n".join(lines)
    print(table)
    (args.out / "results-words.md").write_text("# catalog words in the attributes leg\n\n" + table + "\n")


if __name__ == "__main__":
    main()

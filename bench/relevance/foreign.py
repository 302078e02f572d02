"""How much a query read in another language trusts its attributes leg: the weight of that leg beside
the learned score (``LearnedRanker.rank``'s ``foreign_attributes``), chosen leaving one intent out.

The intents a translation touches: Spanish, French, German and Japanese attribute queries, and known
items (a product's name is sometimes read as another language's: "zapato del barco", "santa cruz
clog"). Each is scored on ``intents.py``'s dev queries and on another seed's (the same word tables in
other combinations, other products), pooled, for both catalog samples' rankers. For each intent left
out, the weight that does best on the mean of the others is taken, and the left-out intent scored at
it against no lift (weight 0). Needs ``ranker.py``'s cache and the other seed's queries:

    python bench/relevance/intents.py --seed 1 --out /tmp/intents-seed1
    python bench/relevance/foreign.py --other /tmp/intents-seed1
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from statistics import fmean

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranker import SEEDS, WINDOW, fit  # noqa: E402  (bench/relevance/ranker.py: its cache and samples)

from hybrid_search.core.catalog import product_id_of
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.report import score_queries
from hybrid_search.evaluation.runner import Retrievals, retrieve_all
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.learned import LearnedRanker
from hybrid_search.ranking.profiles import every_leg
from hybrid_search.stores.services import Services

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 1000.0)  # 1000: the attributes leg first, the ranker its tie-breaker
INTENTS = ("es", "fr", "de", "ja", "known_item")


def ranked(retrievals: Retrievals, ranker: LearnedRanker, weight: float) -> dict[str, list[str]]:
    out = {}
    for qid, retrieval in retrievals.items():
        hits = ranker.rank(retrieval.legs, retrieval.signals, foreign_attributes=weight).hits
        out[qid] = list(dict.fromkeys(product_id_of(hit.doc_id) for hit in hits))
    return out


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, required=True, help="intents.py --seed 1's folder")
    parser.add_argument("--cache", type=Path, default=settings.judgments_root / "ranker-retrievals-v10.pickle")
    args = parser.parse_args()
    queries, qrels, retrievals, _, _, samples = pickle.loads(args.cache.read_bytes())
    other_cache = args.other / "retrievals.pickle"
    other = load_queries(args.other / "queries-intents.jsonl")
    other_qrels = load_qrels(args.other / "qrels-intents.tsv")
    if other_cache.exists():
        other_retrievals = pickle.loads(other_cache.read_bytes())
    else:
        service = SearchService.from_services(Services.from_settings(settings))
        default = service.profiles.get("default").profile
        other_retrievals = retrieve_all(service, other, args.other, every_leg(WINDOW, default.attribute_weights))
        other_cache.write_bytes(pickle.dumps(other_retrievals))
    sets = [(queries, qrels, retrievals), (other, other_qrels, other_retrievals)]
    foreign = {kind: sum(r.signals.foreign for q, r in ((q, rs.get(q.id)) for qs, _, rs in sets for q in qs)
                         if r is not None and q.kind == kind) for kind in INTENTS}  # fmt: skip
    print(f"queries read in another language, both seeds: {foreign}")
    for seed in SEEDS:
        ranker = fit(samples[seed])
        table: dict[float, dict[str, float]] = {}
        for weight in WEIGHTS:
            scores: dict[str, list[float]] = {kind: [] for kind in INTENTS}
            for judged, grades, retrieved in sets:
                asked = [q for q in judged if q.kind in INTENTS and q.id in retrieved]
                scored = score_queries(ranked({q.id: retrieved[q.id] for q in asked}, ranker, weight), asked, grades)
                for row in scored:
                    scores[row.kind].append(row.scores["ndcg@10"])
            table[weight] = {kind: fmean(values) for kind, values in scores.items()}
        print(f"\ncatalog sample {seed}: nDCG@10, both seeds pooled")
        print("| weight | " + " | ".join(INTENTS) + " |\n|---|" + "---|" * len(INTENTS))
        for weight, row in table.items():
            print(f"| {weight:g} | " + " | ".join(f"{row[kind]:.3f}" for kind in INTENTS) + " |")
        print("\nleft out | weight chosen on the others | left out at it, against no lift")
        for left in INTENTS:
            rest = [kind for kind in INTENTS if kind != left]
            chosen = max(WEIGHTS, key=lambda w: fmean(table[w][kind] for kind in rest))
            print(f"{left} | {chosen:g} | {table[0.0][left]:.3f} -> {table[chosen][left]:.3f}")


if __name__ == "__main__":
    main()

"""The learned ranker per intent: each leg alone, the fixed-weight default, and the ranker trained on
the queries the catalog yields (what the training run records after ``up --catalog``), with paired
tests; the ranker trained on another sample of catalog queries, without each kind of catalog query
(leave one kind out: does an intent hold when the ranker never saw queries like it?) and on the legs'
features alone; the fixed default and the ranker without the bilingual dictionaries
(``HYBRID_SEARCH_QUERY_DICTIONARIES=none``), with the dictionaries alone (no Apertium:
``HYBRID_SEARCH_QUERY_TRANSLATION=none``) and with the cross-lingual gloss of other languages' words
(``HYBRID_SEARCH_QUERY_CROSSLINGUAL``); and OpenSearch's own hybrid query at its best of a few weights.

No judgment set below is trained on: the ranker learns from the catalog alone, so every set is held
out for it. The sets: the shared dev set (keyword, synonym, chinese, image) and dev intents (natural,
brand), ``derived.py``'s (typo, mixed, pattern, long) and ``intents.py``'s (brand_alone, snapshot,
known_item, zh_brand, es, fr, de, ja, zh_hant, zh_unseen). Build the last two first, then run:

    python bench/relevance/derived.py && python bench/relevance/intents.py
    python bench/relevance/ranker.py [--out bench/relevance]

Retrievals are cached (``--cache``, a pickle outside the repository) so the ranker can be trained and
scored again without querying OpenSearch.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import native_pipelines, run_native  # noqa: E402  (bench/relevance/run.py: the anchor)

from hybrid_search.core.photos import PhotoStore
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import Query, load_qrels, load_queries
from hybrid_search.evaluation.learning import PER_KIND, catalog_products, retrieve_synthetic
from hybrid_search.evaluation.report import (
    QueryScore,
    compare,
    comparison_line,
    markdown_table,
    mean,
    score_queries,
    summarise,
    write_report,
)
from hybrid_search.evaluation.runner import Retrievals, rank_all, retrieve_all, single_leg_profiles
from hybrid_search.evaluation.synthetic import KINDS, synthetic_queries
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.features import FEATURE_NAMES
from hybrid_search.ranking.learned import DEPTH, LearnedRanker, train_ranker
from hybrid_search.ranking.profiles import every_leg
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
WINDOW = 200  # what every profile's legs are cut from
# OpenSearch's hybrid query (BM25 + text k-NN; photo + fused k-NN for photos) at the weights that did
# best on the shared dev set (bench/relevance/results.md), and RRF
NATIVE = ("min_max 0.2", "min_max 0.4", "l2 0.2", "l2 0.4", "rrf k=60")
SEEDS = (0, 1)
# how queries in other languages are translated, beside the default (FreeDict's dictionaries)
TRANSLATIONS = {
    "without the dictionaries": {"query_dictionaries": "none"},
    "dictionaries without Apertium": {"query_translation": "none"},
    "dictionaries and cross-lingual gloss": {"query_crosslingual": True},
}  # two samples of catalog queries: the second shows whether the first's ranker was luck
UNLIFTED = "learned, queries in other languages without the attributes lift"
Catalog = tuple[list[tuple[str, str, dict[str, int]]], Retrievals]  # (id, kind, grades) per query, their legs


def judgment_sets(settings: Settings) -> list[tuple[Path, Path]]:
    root = settings.judgments_root
    return [
        (DATA / "queries-dev.jsonl", DATA / "qrels-dev.tsv"),
        (DATA / "queries-dev-intents.jsonl", DATA / "qrels-dev-intents.tsv"),
        (root / "derived" / "queries-derived.jsonl", root / "derived" / "qrels-derived.tsv"),
        (root / "intents" / "queries-intents.jsonl", root / "intents" / "qrels-intents.tsv"),
    ]


def tqdm_by(desc: str, total: int):
    return lambda items: tqdm(items, total=total, desc=desc, file=sys.stderr)


def retrieve(
    service: SearchService, translations: dict[str, SearchService], cache: Path
) -> tuple[list[Query], dict, Retrievals, dict[str, Retrievals], dict, dict[int, Catalog]]:
    """Every judged query's legs (as served, and as each of ``translations`` translates queries: only
    the queries it translates otherwise are retrieved again), OpenSearch hybrid queries' rankings,
    and two samples of the catalog's own training queries (seeds 0 and 1) with their legs (cached)."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    default = service.profiles.get("default").profile
    queries, qrels, retrievals = [], {}, {}
    translated: dict[str, Retrievals] = {name: {} for name in translations}
    native: dict[str, dict[str, list[str]]] = {}
    pipelines = {name: p for name, p in native_pipelines().items() if name in NATIVE}
    for queries_path, qrels_path in judgment_sets(service.settings):
        judged = load_queries(queries_path)
        queries += judged
        qrels |= load_qrels(qrels_path)
        progress = tqdm_by(queries_path.name, len(judged))
        collect = every_leg(WINDOW, default.attribute_weights)
        retrievals |= retrieve_all(service, judged, queries_path.parent, collect, progress)
        for name, other in translations.items():
            changed = [
                q
                for q in judged
                if q.text and other.understanding.translate(q.text) != service.understanding.translate(q.text)
            ]
            progress = tqdm_by(f"{queries_path.name}, {name}", len(changed))
            translated[name] |= retrieve_all(other, changed, queries_path.parent, collect, progress)
        for name, ranked in run_native(service, judged, queries_path.parent, pipelines).items():
            native.setdefault(name, {}).update(ranked)
    translated = {name: retrievals | changed for name, changed in translated.items()}
    products = catalog_products(service)
    lexicon = service.understanding.attributes.lexicon
    samples = {}
    for seed in SEEDS:
        made = synthetic_queries(products, lexicon, PhotoStore(service.settings.photo_root).get, PER_KIND, seed)
        bar = tqdm_by(f"catalog queries, seed {seed}", len(made))
        trained = retrieve_synthetic(
            service, made, every_leg(DEPTH, default.attribute_weights), lambda items, _, __, bar=bar: bar(items)
        )
        samples[seed] = ([(q.id, q.kind, q.grades) for q in made], trained)  # the photos are not needed again
    cache.write_bytes(pickle.dumps((queries, qrels, retrievals, translated, native, samples)))
    return queries, qrels, retrievals, translated, native, samples


def fit(sample: Catalog, kinds: Collection[str] = KINDS, features: Sequence[str] = FEATURE_NAMES) -> LearnedRanker:
    training, trained = sample
    groups = [(trained[qid].legs, trained[qid].signals, grades) for qid, kind, grades in training if kind in kinds]
    return train_ranker(groups, features=features)


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    # v10: QuerySignals.foreign (v9: query languages told by word frequencies, French read through
    # Catalan too; v8: the photo match's probe; v7: a query photo's keypoint inliers)
    parser.add_argument("--cache", type=Path, default=settings.judgments_root / "ranker-retrievals-v10.pickle")
    parser.add_argument("--name", default="results-ranker")
    args = parser.parse_args()
    services = Services.from_settings(settings)
    service = SearchService.from_services(services)
    translations = {
        name: SearchService.from_services(
            Services(settings.model_copy(update=update), services.opensearch, services.redis)
        )
        for name, update in TRANSLATIONS.items()
    }
    queries, qrels, retrievals, translated, native, samples = retrieve(service, translations, args.cache)
    default = service.profiles.get("default").profile.model_copy(update={"ranker": False})

    started = time.monotonic()
    ranker = fit(samples[0])
    print(f"ranker trained on {ranker.meta['queries']} catalog queries in {time.monotonic() - started:.0f} s")
    runs = {name: rank_all(retrievals, profile) for name, profile in single_leg_profiles(default).items()}
    runs["fixed-weight default"] = rank_all(retrievals, default)
    runs["learned ranker"] = rank_all(retrievals, default.model_copy(update={"ranker": True}), ranker)
    variants = {"learned, another catalog sample": fit(samples[1])}
    variants |= {f"learned, without {kind} queries": fit(samples[0], set(KINDS) - {kind}) for kind in KINDS}
    variants["learned, leg features only"] = fit(
        samples[0], features=[f for f in FEATURE_NAMES if not f.startswith("query.")]
    )
    for name, variant in variants.items():
        runs[name] = rank_all(retrievals, default.model_copy(update={"ranker": True}), variant)
    # a query read in another language ranked by the learned score as an English one is (LearnedRanker.rank)
    as_read = {qid: replace(r, signals=replace(r.signals, foreign=False)) for qid, r in retrievals.items()}
    runs[UNLIFTED] = rank_all(as_read, default.model_copy(update={"ranker": True}), ranker)
    foreign = sum(r.signals.foreign for r in retrievals.values())
    print(f"{foreign} of {len(retrievals)} judged queries read in another language (their attributes leg lifted)")
    for name, other in translated.items():
        runs[f"fixed-weight default, {name}"] = rank_all(other, default)
        runs[f"learned ranker, {name}"] = rank_all(other, default.model_copy(update={"ranker": True}), ranker)
    rows: dict[str, list[QueryScore]] = {name: score_queries(r, queries, qrels) for name, r in runs.items()}
    anchors = {name: score_queries(r, queries, qrels) for name, r in native.items()}
    best_native = max(anchors, key=lambda name: mean(anchors[name]))  # picked on these very queries
    rows[f"OpenSearch hybrid, best: {best_native}"] = anchors[best_native]

    comparisons = {}
    for kind in dict.fromkeys(q.kind for q in queries):
        of = lambda name, k=kind: [r for r in rows[name] if r.kind == k]  # noqa: E731
        comparisons[f"{kind}: learned vs fixed"] = compare(of("fixed-weight default"), of("learned ranker"))
        legs = [name for name in rows if name.endswith(" alone")]
        best = max(legs, key=lambda name: mean(of(name)))
        comparisons[f"{kind}: learned vs its best leg ({best})"] = compare(of(best), of("learned ranker"))
        if mean(of(UNLIFTED)) != mean(of("learned ranker")):
            comparisons[f"{kind}: learned vs {UNLIFTED}"] = compare(of(UNLIFTED), of("learned ranker"))
        for other in ("without the dictionaries", "dictionaries without Apertium"):
            translated_otherwise = of(f"learned ranker, {other}")
            if mean(translated_otherwise) != mean(of("learned ranker")):
                comparisons[f"{kind}: learned vs {other}"] = compare(translated_otherwise, of("learned ranker"))
    paths = write_report(args.out, args.name, rows, comparisons, extra={"ranker": ranker.meta})
    print(markdown_table({name: summarise(r) for name, r in rows.items()}, ["ndcg@10"]))
    print(markdown_table({name: summarise(r) for name, r in rows.items()}, ["mrr@10"]))
    for label, c in comparisons.items():
        print(comparison_line(label, c))
    print(f"written: {', '.join(str(p) for p in paths.values())}")


if __name__ == "__main__":
    main()

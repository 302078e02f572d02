"""Relevance on the fashion dev queries: every leg alone, the untuned blend, the tuned default, and
OpenSearch's own ``hybrid`` query as the anchor, with paired randomisation tests per query kind.

Our runs blend one retrieval pass in memory (evaluation/runner.py, the ranking pipeline /search uses;
the engine-agreement tests show OpenSearch's hybrid query ranks the same for the same profile).
The anchor rows are real ``hybrid`` queries sent to OpenSearch: BM25 + text k-NN for text queries
(image + fused k-NN for photos, which have no words), the same sub-queries /search sends, blended by
neural-search's processors: min_max and l2 with the arithmetic mean over a weight grid 0, 0.1 ... 1
(what Search Relevance Workbench's hybrid optimizer searches), and RRF. z_score normalisation is not
in neural-search 2.19 and cannot be run. The grid point with the best nDCG@10 over all queries is the
"best native" row, picked on these very queries, as the optimizer would.

Needs the indexed fashion catalog (``hybrid-search up --catalog ../shared/data/fashion``), the query
understanding heads (``hybrid-search train-attributes``) and the fusion the index was fused with
(``HYBRID_SEARCH_FUSION_MODEL``).

    python bench/relevance/run.py [--queries Q.jsonl --qrels Q.tsv --name results] [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import Query, load_qrels, load_queries, query_products
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
from hybrid_search.evaluation.runner import retrieve_all, run_profiles, single_leg_profiles
from hybrid_search.querying.legs import LEGS_BY_NAME
from hybrid_search.querying.service import SearchService
from hybrid_search.ranking.profiles import BlendProfile, every_leg
from hybrid_search.stores.opensearch.hybrid import build_hybrid_body
from hybrid_search.stores.opensearch.search import run_hybrid
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
# The blend every profile started from before tuning (the built-in default of the query layer).
UNTUNED = BlendProfile(weights={"bm25": 0.4, "text": 0.4, "fused": 0.2, "image": 1.0})
NATIVE_WINDOW = 100  # pagination_depth and k, and the depth recall@100 reads
NATIVE_WEIGHTS = [i / 10 for i in range(11)]  # the weight of the first sub-query; the second has 1 - w


def native_legs(query: Query) -> tuple[str, str]:
    return ("image", "fused") if query.image else ("bm25", "text")


def native_pipelines() -> dict[str, dict]:
    """Every anchor configuration: name -> temporary search pipeline."""
    out = {}
    for norm in ("min_max", "l2"):
        for w in NATIVE_WEIGHTS:
            combination = {"technique": "arithmetic_mean", "parameters": {"weights": [w, round(1 - w, 1)]}}
            processor = {"normalization": {"technique": norm}, "combination": combination}
            out[f"{norm} {w:.1f}"] = {"phase_results_processors": [{"normalization-processor": processor}]}
    ranker = {"combination": {"technique": "rrf", "rank_constant": 60}}
    out["rrf k=60"] = {"phase_results_processors": [{"score-ranker-processor": ranker}]}
    return out


def run_native(
    service: SearchService, queries: Sequence[Query], base_dir: Path, pipelines: dict[str, dict] | None = None
) -> dict[str, dict[str, list[str]]]:
    """configuration -> query id -> product ids, each from a real hybrid query to OpenSearch (every
    anchor configuration, or those of ``pipelines``)."""
    pipelines = pipelines or native_pipelines()
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in pipelines}
    alias = service.settings.products_alias

    def one(query: Query) -> None:
        legs = native_legs(query)
        profile = BlendProfile(weights=dict.fromkeys(legs, 1.0), window=NATIVE_WINDOW)
        photo = (base_dir / query.image).read_bytes() if query.image else None
        exclude = tuple(sorted(query_products([query])))
        understood = service.understanding.understand(SearchRequest(q=query.text), photo, profile, exclude)
        sub_queries = {
            leg: LEGS_BY_NAME[leg].query(understood.inputs, understood.filters, NATIVE_WINDOW, {}) for leg in legs
        }
        for name, pipeline in pipelines.items():
            body = build_hybrid_body(sub_queries, pipeline, NATIVE_WINDOW, 0, NATIVE_WINDOW, None)
            hits, _ = run_hybrid(service.client, alias, body)
            runs[name][query.id] = [hit["fields"]["product_id"][0] for hit in hits]

    with ThreadPoolExecutor(2) as pool:
        list(tqdm(pool.map(one, queries), total=len(queries), desc="OpenSearch hybrid", file=sys.stderr))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.jsonl")
    parser.add_argument("--qrels", type=Path, default=DATA / "qrels-dev.tsv")
    parser.add_argument("--name", default="results")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()

    settings = Settings()
    services = Services.from_settings(settings)
    service = SearchService.from_services(services)
    tuned = service.profiles.get("default")
    tuned_name = f"tuned hybrid, the default ({tuned.name}@{tuned.version})"
    queries, qrels = load_queries(args.queries), load_qrels(args.qrels)
    window = max(UNTUNED.window, tuned.profile.window, *(p.window for p in tuned.profile.classes.values()))
    collect = every_leg(window, tuned.profile.attribute_weights)
    progress = lambda items: tqdm(items, total=len(queries), desc="legs", file=sys.stderr)  # noqa: E731
    retrievals = retrieve_all(service, queries, args.queries.parent, collect, progress)

    runs = single_leg_profiles(UNTUNED) | {"default hybrid (untuned)": UNTUNED, tuned_name: tuned.profile}
    rows = {name: score_queries(r, queries, qrels) for name, r in run_profiles(retrievals, runs).items()}

    native = run_native(service, queries, args.queries.parent)
    grid = {name: score_queries(r, queries, qrels) for name, r in native.items()}
    best_per_norm = {
        norm: max((n for n in grid if n.startswith(norm)), key=lambda n: mean(grid[n])) for norm in ("min_max", "l2")
    }
    native_rows = {f"OpenSearch hybrid, {name} (best weight)": grid[name] for name in best_per_norm.values()}
    native_rows["OpenSearch hybrid, rrf k=60"] = grid["rrf k=60"]
    best_native = max(native_rows, key=lambda n: mean(native_rows[n]))
    rows |= native_rows

    if any(q.kind == "chinese" for q in queries):
        chinese = [q for q in queries if q.kind == "chinese"]
        plain = SearchService.from_services(
            Services(settings.model_copy(update={"query_dictionary": "none"}), services.opensearch, services.redis)
        )
        untranslated = retrieve_all(
            plain, chinese, args.queries.parent, collect, lambda items: tqdm(items, file=sys.stderr)
        )
        no_dictionary = run_profiles(
            untranslated,
            {
                "bm25 alone, no CC-CEDICT": single_leg_profiles(UNTUNED)["bm25 alone"],
                "text alone, no CC-CEDICT": single_leg_profiles(UNTUNED)["text alone"],
                "attributes alone, no CC-CEDICT": single_leg_profiles(UNTUNED)["attributes alone"],
                "tuned hybrid, no CC-CEDICT": tuned.profile,
            },
        )
        rows |= {name: score_queries(r, chinese, qrels) for name, r in no_dictionary.items()}

    comparisons = {
        f"{tuned_name} vs {name}": compare(rows[name], rows[tuned_name])
        for name in rows
        if name != tuned_name and len(rows[name]) == len(rows[tuned_name])
    }
    per_kind = per_kind_comparisons(rows[tuned_name], rows[best_native])
    comparisons |= {f"{kind}: {tuned_name} vs {best_native}": c for kind, c in per_kind.items()}
    sweeps = {  # x: the weight of bm25 (of image for photo queries)
        f"OpenSearch hybrid, {norm}": [(w, mean(grid[f"{norm} {w:.1f}"])) for w in NATIVE_WEIGHTS]
        for norm in ("min_max", "l2")
    }
    paths = write_report(
        args.out,
        args.name,
        rows,
        comparisons,
        extra={
            "tuned_profile": tuned.profile.model_dump(),
            "native_grid": {name: summarise(r) for name, r in grid.items()},
        },
        sweeps=sweeps,
    )
    print(markdown_table({name: summarise(r) for name, r in rows.items()}))
    for label, c in comparisons.items():
        print(comparison_line(label, c))
    print(f"written: {', '.join(str(p) for p in paths.values())}")


def per_kind_comparisons(ours: Sequence[QueryScore], theirs: Sequence[QueryScore]) -> dict[str, object]:
    kinds = dict.fromkeys(r.kind for r in ours)
    return {kind: compare([r for r in theirs if r.kind == kind], [r for r in ours if r.kind == kind]) for kind in kinds}


if __name__ == "__main__":
    main()

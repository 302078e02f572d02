"""Relevance on the fashion dev queries: every leg alone, the untuned default blend and the tuned
active profile, all from one retrieval pass over the indexed catalog (and a second pass for the
Chinese queries without dictionary translation, to show what it adds).

Needs the indexed fashion catalog (``hybrid-search up --catalog ../shared/data/fashion``) and the
query-understanding heads (``hybrid-search train-attributes``). OpenSearch's own ``hybrid`` query
is not measured: the neural-search plugin is not on Maven Central (see the README).

    python bench/relevance/run.py [--out bench/relevance]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.report import compare, markdown_table, score_queries, summarise, write_report
from hybrid_search.evaluation.runner import collecting_profile, retrieve_all, run_profiles, single_leg_profiles
from hybrid_search.profiles import BlendProfile
from hybrid_search.search import SearchService
from hybrid_search.services import Services
from hybrid_search.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
# The blend every profile started from before tuning (the built-in default of the query layer).
UNTUNED = BlendProfile(weights={"bm25": 0.4, "text": 0.4, "fused": 0.2, "image": 1.0})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=Path, default=DATA / "queries-dev.jsonl")
    parser.add_argument("--qrels", type=Path, default=DATA / "qrels-dev.tsv")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()

    settings = Settings()
    services = Services.from_settings(settings)
    service = SearchService.from_services(services)
    tuned = service.profiles.get("default")
    queries, qrels = load_queries(args.queries), load_qrels(args.qrels)
    window = max(UNTUNED.window, tuned.profile.window, *(p.window for p in tuned.profile.classes.values()))
    collect = collecting_profile(window, tuned.profile.attribute_weights)
    progress = lambda items: tqdm(items, total=len(queries), file=sys.stderr)  # noqa: E731
    retrievals = retrieve_all(service, queries, args.queries.parent, collect, progress)

    runs = single_leg_profiles(UNTUNED) | {
        "default hybrid (untuned)": UNTUNED,
        f"tuned hybrid ({tuned.name}@{tuned.version})": tuned.profile,
    }
    rows = {name: score_queries(r, queries, qrels) for name, r in run_profiles(retrievals, runs).items()}

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

    tuned_name = f"tuned hybrid ({tuned.name}@{tuned.version})"
    comparisons = {
        f"{tuned_name} vs {name}": compare(rows[name], rows[tuned_name])
        for name in rows
        if name != tuned_name and len(rows[name]) == len(rows[tuned_name])
    }
    paths = write_report(args.out, "results", rows, comparisons, extra={"tuned_profile": tuned.profile.model_dump()})
    table = markdown_table({name: summarise(r) for name, r in rows.items()})
    print(table)
    for label, c in comparisons.items():
        print(f"{label}: {c.baseline:.3f} -> {c.candidate:.3f}, {c.wins}/{c.losses}/{c.ties}, p = {c.p_value:.4f}")
    print(f"written: {', '.join(str(p) for p in paths.values())}")


if __name__ == "__main__":
    main()

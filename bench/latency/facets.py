"""What a storefront's query and facets cost the blend through the OpenSearch-shaped read path.

One API under gunicorn (``hybrid-search serve``) against the indexed fashion catalog; the same English
dev queries sent to ``POST /<alias>/_search`` with ``ext.hybrid``, three ways taking turns: the blend
alone; the blend within a storefront's query (a gender filter) with three facets (colour, article
type, usage) over its match set, whose count becomes ``hits.total`` (counted in the same _msearch as
the legs); and the same sorted by year (the match set in that order, OpenSearch sorting and paging
it). The query cache is warm (encoding excluded). Target: p99 with facets and a sort <= 1.3 x without.

As in ``ranker.py``, a p99 of a few hundred requests is decided by a stall or two on a shared 2-core
machine, so the comparison runs ``--rounds`` times (which goes first alternates by round) and the
ratios reported are the medians of the rounds' ratios, beside all rounds' samples pooled.

    python bench/latency/facets.py [--requests 200] [--rounds 5] [--out bench/latency/results-facets.md]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Rounds, measure, pooled_rows, round_ratios, table_row, warm_query_cache  # noqa: E402
from serving import Api  # noqa: E402

from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_queries

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
STOREFRONT = {
    "query": {"bool": {"filter": [{"terms": {"gender": ["Men", "Women", "Unisex"]}}]}},
    "aggs": {
        "colour": {"terms": {"field": "colour", "size": 20}},
        "type": {"terms": {"field": "article_type", "size": 20}},
        "usage": {"terms": {"field": "usage", "size": 10}},
    },
}


def blend(api: Api, words: list[str], storefront: dict):
    """A call of the read path: page 1 of 10 for query ``i`` (its total and facets with ``storefront``)."""
    url = f"{api.url}/{api.settings.products_alias}/_search"

    def call(i: int) -> None:
        body = {"size": 10, **storefront, "ext": {"hybrid": {"q": words[i % len(words)]}}}
        response = api.session.post(url, json=body, timeout=60)
        response.raise_for_status()

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-facets.md")
    args = parser.parse_args()
    settings = Settings()
    queries = load_queries(DATA / "queries-dev.jsonl")
    words = [q.text for q in queries if q.kind in ("keyword", "synonym")][: args.requests]
    variants = {
        "the blend alone": {},
        "with a storefront query and three facets": STOREFRONT,
        "the same, sorted by year": {**STOREFRONT, "sort": [{"year": "desc"}]},
    }
    rounds: Rounds = []
    with Api(settings) as api:
        warm_query_cache(api, words)
        checked = api.session.post(
            f"{api.url}/{settings.products_alias}/_search",
            json={"size": 10, **STOREFRONT, "ext": {"hybrid": {"q": words[0]}}},
            timeout=60,
        ).json()
        assert checked["aggregations"]["colour"]["buckets"] and checked["hits"]["total"]["value"] > 10, checked
        for n in range(args.rounds):
            order = list(variants.items()) if n % 2 == 0 else list(reversed(variants.items()))  # turns alternate
            measured = {}
            for concurrency in (1, 8):
                for name, storefront in order:
                    row = measure(name, blend(api, words, storefront), args.requests, concurrency)
                    measured[name, concurrency] = row
            rounds.append(measured)
    pooled = pooled_rows(rounds)
    plain, *others = variants
    ratios = [
        f"| {other} | {concurrency} | {round_ratios(rounds, pooled, (other, concurrency), (plain, concurrency))} |"
        for other in others
        for concurrency in (1, 8)
    ]
    table = "\n".join(
        [
            f"{args.rounds} rounds of {args.requests} requests per row, pooled; one API (`hybrid-search serve`, "
            f"{settings.api_workers} workers); {os.cpu_count()} cores shared by the client, the API and "
            "OpenSearch; English dev queries, warm query cache, `POST /<alias>/_search` with `ext.hybrid`.",
            "",
            "| scenario | concurrency | p50 ms | p95 ms | p99 ms | requests/s | median encode ms | p99 encode ms |",
            "|---|---|---|---|---|---|---|---|",
            *(table_row(r) for r in pooled.values()),
            "",
            "| against the blend alone | concurrency | p50 ratio, median of rounds | p99 ratio, median of rounds "
            "(each round) | p99 ratio, pooled | requests/s ratio |",
            "|---|---|---|---|---|---|",
            *ratios,
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

"""What the learned ranker costs /search: the same queries with it and without it, in one run.

Two APIs under gunicorn (``hybrid-search serve``) against the indexed fashion catalog, one with the
ranker the index records and one with ``HYBRID_SEARCH_RANKER_MODEL=none`` (the fixed-weight default
profile, on the ``msearch`` engine), take turns on the same requests: English and Chinese dev queries
with a warm query cache (encoding excluded, as the ranker adds nothing to it), and photo queries
(each photo encoded). The ranker runs every leg the query can use at its depth and scores the union
of their hits; target: p99 with it <= 1.2 x without it at concurrency 1 and 8.

A p99 of a few hundred requests is its third-slowest, which one stall on a shared 2-core machine
decides, so the comparison runs ``--rounds`` times, the two APIs taking turns within each (which
goes first alternates by round): the ratios reported are the medians of the rounds' ratios, beside
the ratio of all rounds' samples pooled; the per-scenario rows pool every round.

    python bench/latency/ranker.py [--requests 200] [--rounds 5] [--queries English Chinese photo]
                                   [--against ARTIFACT] [--out bench/latency/results-ranker.md]

``--against`` compares with another ranker artifact (``HYBRID_SEARCH_RANKER_MODEL``: an older version,
say) instead of the fixed default: "without" in the tables is then that ranker.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Rounds, measure, pooled_rows, round_ratios, table_row, warm_query_cache  # noqa: E402
from serving import API_PORT, Api  # noqa: E402

from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_queries

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
QUERIES = ("English", "Chinese", "photo")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", nargs="+", choices=QUERIES, default=QUERIES, help="which rows to run")
    parser.add_argument("--against", type=Path, help="a ranker artifact to compare with, instead of none")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-ranker.md")
    args = parser.parse_args()
    settings = Settings()
    queries = load_queries(DATA / "queries-dev.jsonl")
    texts = {
        "English": [q.text for q in queries if q.kind in ("keyword", "synonym")][: args.requests],
        "Chinese": [q.text for q in queries if q.kind == "chinese"][: args.requests],
    }
    texts = {kind: words for kind, words in texts.items() if kind in args.queries}
    photos = [(DATA / q.image).read_bytes() for q in queries if q.kind == "image"]
    baseline = f"with {args.against.stem}" if args.against else "without the ranker"
    against = str(args.against.resolve()) if args.against else "none"
    variants = {baseline: {"HYBRID_SEARCH_RANKER_MODEL": against}, "with the ranker": {}}
    apis = {name: Api(settings, **env) for name, env in variants.items()}
    apis["with the ranker"].url = f"http://127.0.0.1:{API_PORT + 1}"
    apis["with the ranker"].env["HYBRID_SEARCH_API_PORT"] = str(API_PORT + 1)
    with apis[baseline], apis["with the ranker"]:
        for api in apis.values():
            for words in texts.values():
                warm_query_cache(api, words)
        engines = {
            name: api.session.get(f"{api.url}/search", params={"q": "black shoes"}, timeout=60).json()["engine"]
            for name, api in apis.items()
        }
        assert engines["with the ranker"]["name"] == "learned", engines
        rounds: Rounds = []
        for n in range(args.rounds):
            order = list(apis.items()) if n % 2 == 0 else list(reversed(apis.items()))
            measured = {}
            for concurrency in (1, 8):
                for kind, words in texts.items():
                    for name, api in order:
                        call = api.search(lambda i, words=words: {"q": words[i % len(words)]})
                        row = measure(f"/search {kind}, {name}", call, args.requests, concurrency)
                        measured[row.name, concurrency] = row
                for name, api in order if "photo" in args.queries else ():
                    call = api.search(lambda i: {"size": "10"}, lambda i: {"photo": ("q.jpg", photos[i % len(photos)])})
                    row = measure(f"/search photo, {name}", call, args.requests, concurrency)
                    measured[row.name, concurrency] = row
            rounds.append(measured)
    pooled = pooled_rows(rounds)
    ratios = []
    for kind in (kind for kind in QUERIES if kind in args.queries):
        for concurrency in (1, 8):
            with_key = (f"/search {kind}, with the ranker", concurrency)
            without_key = (f"/search {kind}, {baseline}", concurrency)
            ratios.append(f"| {kind} | {concurrency} | {round_ratios(rounds, pooled, with_key, without_key)} |")
    rows = list(pooled.values())
    table = "\n".join(
        [
            f"{args.rounds} rounds of {args.requests} requests per row, pooled; two APIs (`hybrid-search serve`, "
            f"{settings.api_workers} workers each) taking turns; {os.cpu_count()} cores shared by the client, both "
            "APIs and OpenSearch. Text rows ran with a warm query cache; photo rows encode each photo.",
            "",
            "| scenario | concurrency | p50 ms | p95 ms | p99 ms | requests/s | median encode ms | p99 encode ms |",
            "|---|---|---|---|---|---|---|---|",
            *(table_row(r) for r in rows),
            "",
            "| queries | concurrency | p50 with ÷ without, median of rounds | p99 with ÷ without, median of rounds "
            "(each round) | p99 with ÷ without, pooled | requests/s with ÷ without |",
            "|---|---|---|---|---|---|",
            *ratios,
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

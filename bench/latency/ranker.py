"""What the learned ranker costs /search: the same queries with it and without it, in one run.

Two APIs under gunicorn (``hybrid-search serve``) against the indexed fashion catalog, one with the
ranker the index records and one with ``HYBRID_SEARCH_RANKER_MODEL=none`` (the fixed-weight default
profile, on the ``msearch`` engine), take turns on the same requests: English and Chinese dev queries
with a warm query cache (encoding excluded, as the ranker adds nothing to it), and photo queries
(each photo encoded). The ranker runs every leg the query can use at its depth and scores the union
of their hits; target: p99 with it <= 1.2 x without it at concurrency 1 and 8.

    python bench/latency/ranker.py [--requests 300] [--out bench/latency/results-ranker.md]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure, table_row, warm_query_cache  # noqa: E402  (bench/latency/run.py)
from serving import API_PORT, Api, percentiles  # noqa: E402

from hybrid_search.evaluation.judgments import load_queries
from hybrid_search.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-ranker.md")
    args = parser.parse_args()
    settings = Settings()
    queries = load_queries(DATA / "queries-dev.jsonl")
    texts = {
        "English": [q.text for q in queries if q.kind in ("keyword", "synonym")][: args.requests],
        "Chinese": [q.text for q in queries if q.kind == "chinese"][: args.requests],
    }
    photos = [(DATA / q.image).read_bytes() for q in queries if q.kind == "image"]
    variants = {"without the ranker": {"HYBRID_SEARCH_RANKER_MODEL": "none"}, "with the ranker": {}}
    apis = {name: Api(settings, **env) for name, env in variants.items()}
    apis["with the ranker"].url = f"http://127.0.0.1:{API_PORT + 1}"
    apis["with the ranker"].env["HYBRID_SEARCH_API_PORT"] = str(API_PORT + 1)
    rows = []
    with apis["without the ranker"], apis["with the ranker"]:
        for api in apis.values():
            for words in texts.values():
                warm_query_cache(api, words)
        engines = {
            name: api.session.get(f"{api.url}/search", params={"q": "black shoes"}, timeout=60).json()["engine"]
            for name, api in apis.items()
        }
        assert engines["with the ranker"]["name"] == "learned", engines
        for concurrency in (1, 8):
            for kind, words in texts.items():
                for name, api in apis.items():
                    call = api.search(lambda i, words=words: {"q": words[i % len(words)]})
                    rows.append(measure(f"/search {kind}, {name}", call, args.requests, concurrency))
            for name, api in apis.items():
                call = api.search(lambda i: {"size": "10"}, lambda i: {"photo": ("q.jpg", photos[i % len(photos)])})
                rows.append(measure(f"/search photo, {name}", call, args.requests, concurrency))
    by_name = {(r.name, r.concurrency): r for r in rows}
    ratios = []
    for kind in (*texts, "photo"):
        for concurrency in (1, 8):
            with_it = by_name[f"/search {kind}, with the ranker", concurrency]
            without = by_name[f"/search {kind}, without the ranker", concurrency]
            p99 = percentiles(with_it.samples)[2] / percentiles(without.samples)[2]
            p50 = percentiles(with_it.samples)[0] / percentiles(without.samples)[0]
            ratios.append(f"| {kind} | {concurrency} | {p50:.2f} | {p99:.2f} | {with_it.qps / without.qps:.2f} |")
    table = "\n".join(
        [
            f"{args.requests} requests per row; two APIs (`hybrid-search serve`, {settings.api_workers} workers "
            f"each) taking turns; {os.cpu_count()} cores shared by the client, both APIs and OpenSearch. Text rows "
            "ran with a warm query cache; photo rows encode each photo.",
            "",
            "| scenario | concurrency | p50 ms | p95 ms | p99 ms | requests/s | median encode ms | p99 encode ms |",
            "|---|---|---|---|---|---|---|---|",
            *(table_row(r) for r in rows),
            "",
            "| queries | concurrency | p50 with ÷ without | p99 with ÷ without | requests/s with ÷ without |",
            "|---|---|---|---|---|",
            *ratios,
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

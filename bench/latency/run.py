"""Latency of /search next to the raw legs sent straight to OpenSearch, in one run.

Runs the API under gunicorn (``hybrid-search serve``) against the indexed fashion catalog
(``hybrid-search load-catalog ../shared/data/fashion``), then for each scenario sends the dev
queries at concurrency 1 and 8 and reports p50/p95/p99 in ms:

- /search: English (keyword + synonym queries), Chinese, photo (multipart upload), personalised
  (English queries for a user with purchase history);
- raw BM25 page: the BM25 leg's multi_match, asking for the page /search answers (10 products,
  their sources without vectors): what a backend querying the index itself sends today;
- raw k-NN page: the text_vector k-NN (k = the window, a pre-computed query vector), same page;
- raw BM25 / k-NN leg: the legs' bodies exactly as /search sends them (a window of ids from doc values).
The API runs with the query cache off, so every request encodes its query; that time (as /search
reports it) is also given separately. OpenSearch's own ``hybrid`` query is not measured: the
neural-search plugin is not on Maven Central (see the README).

    python bench/latency/run.py [--requests 200] [--out bench/latency/results.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from hybrid_search.encoders.text import load_text_encoder
from hybrid_search.evaluation.judgments import load_queries
from hybrid_search.opensearch.queries import SOURCE_EXCLUDES, build_bm25_query, build_filters, build_knn_query
from hybrid_search.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
API_PORT = 8099
PAGE = 10


RAW_BM25 = f"raw BM25 page of {PAGE} (OpenSearch)"
RAW_KNN = f"raw k-NN text_vector page of {PAGE} (OpenSearch)"


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def measure(call: Callable[[int], None], count: int, concurrency: int) -> list[float]:
    """Latency in ms of ``count`` calls (call(i)), ``concurrency`` at a time."""

    def timed(i: int) -> float:
        started = time.perf_counter()
        call(i)
        return (time.perf_counter() - started) * 1000

    for i in range(min(10, count)):  # warm connections, caches and JIT paths
        call(i)
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(timed, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()
    settings = Settings()
    queries = load_queries(DATA / "queries-dev.jsonl")
    english = [q.text for q in queries if q.kind in ("keyword", "synonym")]
    chinese = [q.text for q in queries if q.kind == "chinese"]
    photos = [(DATA / q.image).read_bytes() for q in queries if q.kind == "image"]
    window = 100
    filters = build_filters({})
    bm25_legs = [build_bm25_query(t, filters, window) for t in english]
    encoder = load_text_encoder(settings.text_encoder)
    knn_legs = [build_knn_query("text_vector", v, window, filters) for v in encoder.encode(english, kind="query")]
    page = {"size": PAGE, "_source": {"excludes": SOURCE_EXCLUDES}}
    bm25_pages = [{"query": body["query"], **page} for body in bm25_legs]
    knn_pages = [{"query": body["query"], **page} for body in knn_legs]

    env = {
        **os.environ,
        "HYBRID_SEARCH_API_PORT": str(API_PORT),
        "HYBRID_SEARCH_QUERY_CACHE_SIZE": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hybrid_search.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{API_PORT}"
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=16)
    session.mount("http://", adapter)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if session.get(f"{api}/health", timeout=2).ok:
                    break
            except requests.RequestException:  # refused, or queued while the workers warm up
                pass
            if time.monotonic() > deadline:
                raise SystemExit("API did not start")
            time.sleep(0.5)
        history = [
            {
                "action_name": "purchase",
                "user_id": "bench-user",
                "session_id": "b",
                "event_attributes": {"object": {"object_id": pid}},
            }
            for pid in ("1525", "1526", "1557")
        ]
        session.post(f"{api}/events", json=history, timeout=30).raise_for_status()
        encode_ms: dict[int, float] = {}  # request number -> the query encoding time /search reported

        def search(params: Callable[[int], dict], files: Callable[[int], dict] | None = None):
            def call(i: int) -> None:
                if files is None:
                    response = session.get(f"{api}/search", params=params(i), timeout=60)
                else:
                    response = session.post(f"{api}/search", data=params(i), files=files(i), timeout=60)
                response.raise_for_status()
                encode_ms[i] = response.json()["timings_ms"]["encode"]

            return call

        def raw(bodies: list[dict]):
            url = f"{settings.opensearch_url}/{settings.products_alias}/_search"

            def call(i: int) -> None:
                session.post(url, json=bodies[i % len(bodies)], timeout=60).raise_for_status()

            return call

        scenarios = {
            "/search English": search(lambda i: {"q": english[i % len(english)]}),
            "/search Chinese": search(lambda i: {"q": chinese[i % len(chinese)]}),
            "/search photo": search(
                lambda i: {"size": "10"}, lambda i: {"photo": ("q.jpg", photos[i % len(photos)], "image/jpeg")}
            ),
            "/search personalised": search(lambda i: {"q": english[i % len(english)], "user_id": "bench-user"}),
            RAW_BM25: raw(bm25_pages),
            RAW_KNN: raw(knn_pages),
            "raw BM25 leg (OpenSearch)": raw(bm25_legs),
            "raw k-NN leg (OpenSearch)": raw(knn_legs),
        }
        rows, p99, p99_searching = [], {}, {}
        for concurrency in (1, 8):
            for name, call in scenarios.items():
                encode_ms.clear()
                samples = measure(call, args.requests, concurrency)
                p50, p95, p99[name, concurrency] = percentiles(samples)
                if encode_ms:  # per request: its latency without its own query encoding
                    searching = [t - encode_ms[i] for i, t in enumerate(samples)]
                    p99_searching[name, concurrency] = percentiles(searching)[2]
                    encoded = f"{statistics.median(encode_ms.values()):.1f} | {p99_searching[name, concurrency]:.1f} |"
                else:
                    encoded = "– | – |"
                rows.append(
                    f"| {name} | {concurrency} | {p50:.1f} | {p95:.1f} | {p99[name, concurrency]:.1f} | {encoded}"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    ratios = []
    for concurrency in (1, 8):
        slower = max(p99[RAW_BM25, concurrency], p99[RAW_KNN, concurrency])
        ratio = p99["/search English", concurrency] / slower
        searching = p99_searching["/search English", concurrency] / slower
        ratios.append(
            f"- concurrency {concurrency}: p99 /search English / p99 slower raw page query = **{ratio:.2f}** "
            f"(without query encoding, which the raw k-NN query is spared: {searching:.2f})"
        )
    table = "\n".join(
        [
            f"{args.requests} requests per row; API: `hybrid-search serve`, {settings.api_workers} workers of one "
            "encoding thread, query cache off; text "
            f"`{settings.text_encoder}`; raw k-NN k = {window}; {os.cpu_count()} cores shared by client, API and "
            "OpenSearch.",
            "",
            "| scenario | concurrency | p50 ms | p95 ms | p99 ms | median query encode ms | p99 ms without encode |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            *ratios,
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

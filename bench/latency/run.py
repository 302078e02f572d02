"""Latency and throughput of /search beside OpenSearch's own queries, measured in one run.

Runs the API under gunicorn (``hybrid-search serve``) against the indexed fashion catalog and sends
the dev queries at concurrency 1 and 8 (p50 / p95 / p99 in ms, requests per second):

Part 1, the API's query cache off, so every request encodes its query (encoding reported apart):
- /search English (keyword + synonym queries), Chinese, photo (multipart upload), personalised.

Part 2, encoding excluded on both sides: the API's query cache is warmed with every query first (a
sequential pass must then find every query cached in whichever worker takes it), and OpenSearch
gets query vectors computed beforehand:
- /search English and Chinese on each engine (``engine=opensearch-hybrid`` / ``engine=msearch``);
- OpenSearch's ``hybrid`` query with the default profile's sub-queries, weights, window and filters
  for the same request, as a backend would send it (a page of 10 with its products) and as /search
  sends it (ids only: its products come from a second, ids search);
- the raw pages a backend querying the index itself sends: the BM25 leg's multi_match and the
  text k-NN query (k = 100), a page of 10 products with their sources.

Where the time of /search goes is reported per phase as /search times it (plan and encode, the
engine's round trips, rerank and page) and the rest (HTTP, JSON, gunicorn) as the remainder.

    python bench/latency/run.py [--requests 300] [--out bench/latency/results.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serving import Api, percentiles  # noqa: E402  (bench/serving.py, shared by the benches)

from hybrid_search.core.catalog import SearchRequest
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_queries
from hybrid_search.querying.service import HYBRID_ENGINE, SearchService
from hybrid_search.stores.opensearch.queries import SOURCE_EXCLUDES, build_bm25_query, build_filters, build_knn_query
from hybrid_search.stores.services import Services

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
PAGE = 10
WARM_PASSES = 25  # each worker must have encoded each query once: a pass misses a given worker 4 times in 5
CACHE_HIT_MS = 5.0  # plan + encode of a cached query, alone on the machine, takes ~1 ms; encoding ~20 ms
NATIVE_PAGE = "OpenSearch hybrid query, page of 10 with its products"
NATIVE_IDS = "OpenSearch hybrid query, ids only (what /search sends)"
RAW_BM25 = f"raw BM25 page of {PAGE} (OpenSearch)"
RAW_KNN = f"raw k-NN text_vector page of {PAGE} (OpenSearch)"


@dataclass
class Row:
    name: str
    concurrency: int
    samples: list[float]
    wall_s: float
    timings: dict[int, dict[str, float]] = field(default_factory=dict)  # request -> /search's own timings

    @property
    def qps(self) -> float:
        return len(self.samples) / self.wall_s


def measure(name: str, call: Callable[[int], dict | None], count: int, concurrency: int) -> Row:
    """``count`` calls (call(i)), ``concurrency`` at a time, after a few warm-up calls."""
    row = Row(name, concurrency, [], 0.0)

    def timed(i: int) -> float:
        started = time.perf_counter()
        timings = call(i)
        elapsed = (time.perf_counter() - started) * 1000
        if timings is not None:
            row.timings[i] = timings
        return elapsed

    for i in range(min(10, count)):  # warm connections, caches and JIT paths
        call(i)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        row.samples = list(pool.map(timed, range(count)))
    row.wall_s = time.perf_counter() - started
    return row


Rounds = list[dict[tuple[str, int], Row]]  # per round: (scenario, concurrency) -> its row


def pooled_rows(rounds: Rounds) -> dict[tuple[str, int], Row]:
    """Each scenario's samples over every round, as one row."""
    return {
        key: Row(
            key[0],
            key[1],
            [x for r in rounds for x in r[key].samples],
            sum(r[key].wall_s for r in rounds),
            {(n, i): t for n, r in enumerate(rounds) for i, t in r[key].timings.items()},
        )
        for key in rounds[0]
    }


def round_ratios(rounds: Rounds, pooled: dict[tuple[str, int], Row], with_key: tuple, without_key: tuple) -> str:
    """Table cells comparing two scenarios measured in turns: the p50 and p99 ratios as medians of
    the rounds' ratios (a p99 of a few hundred requests is one stall's), each round's p99 ratio, the
    pooled p99 ratio and the requests/s ratio."""

    def ratio(a: Row, b: Row, at: int) -> float:
        return percentiles(a.samples)[at] / percentiles(b.samples)[at]

    per_round = [(ratio(r[with_key], r[without_key], 0), ratio(r[with_key], r[without_key], 2)) for r in rounds]
    p50 = statistics.median(p for p, _ in per_round)
    p99 = statistics.median(p for _, p in per_round)
    pooled_p99 = ratio(pooled[with_key], pooled[without_key], 2)
    qps = pooled[with_key].qps / pooled[without_key].qps
    each = " ".join(f"{p:.2f}" for _, p in per_round)
    return f"{p50:.2f} | {p99:.2f} ({each}) | {pooled_p99:.2f} | {qps:.2f}"


def give_history(api: Api, user_id: str) -> None:
    """Three purchases by ``user_id`` (fashion products), so that user's searches are personalised."""
    history = [
        {
            "action_name": "purchase",
            "user_id": user_id,
            "session_id": "b",
            "event_attributes": {"object": {"object_id": pid}},
        }
        for pid in ("1525", "1526", "1557")
    ]
    api.session.post(f"{api.url}/events", json=history, timeout=30).raise_for_status()


def warm_query_cache(api: Api, words: list[str]) -> None:
    """Every query encoded once by every API worker, checked by a sequential pass that finds each cached."""
    warm = api.search(lambda i: {"q": words[i % len(words)]})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(warm, range(len(words) * WARM_PASSES)))
    for _ in range(10):
        misses = [i for i in range(len(words)) if warm(i)["encode"] > CACHE_HIT_MS]
        if not misses:
            return
    raise SystemExit(f"query cache still cold for {len(misses)} queries")


def opensearch(session: requests.Session, settings: Settings, bodies: list[dict]):
    url = f"{settings.opensearch_url}/{settings.products_alias}/_search"

    def call(i: int) -> None:
        session.post(url, json=bodies[i % len(bodies)], timeout=60).raise_for_status()

    return call


def native_bodies(service: SearchService, texts: list[str], with_sources: bool) -> list[dict]:
    """The hybrid query for each text with the default profile (page 1 of 10)."""
    bodies = []
    for text in texts:
        plan = service.plan(SearchRequest(q=text, size=PAGE, engine=HYBRID_ENGINE))
        bodies.append(service.hybrid_body(plan, 0, PAGE, with_sources))
    return bodies


def table_row(row: Row) -> str:
    p50, p95, p99 = percentiles(row.samples)
    cells = [row.name, str(row.concurrency), f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}", f"{row.qps:.1f}"]
    if row.timings:
        encode = [t["encode"] for t in row.timings.values()]
        cells += [f"{statistics.median(encode):.1f}", f"{percentiles(encode)[2]:.1f}"]
    else:
        cells += ["–", "–"]
    return "| " + " | ".join(cells) + " |"


def phases(row: Row) -> str:
    """Medians of /search's own phase timings, and the rest of the client's latency."""
    t = row.timings
    median = {k: statistics.median(v[k] for v in t.values()) for k in ("encode", "search", "page", "total")}
    outside = statistics.median(row.samples[i] - v["total"] for i, v in t.items())
    return (
        f"| {row.name} | {row.concurrency} | {median['encode']:.1f} | {median['search']:.1f} | "
        f"{median['page']:.1f} | {outside:.1f} | {statistics.median(row.samples):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()
    settings = Settings()
    queries = load_queries(DATA / "queries-dev.jsonl")
    english = [q.text for q in queries if q.kind in ("keyword", "synonym")][: args.requests]
    chinese = [q.text for q in queries if q.kind == "chinese"][: args.requests]
    photos = [(DATA / q.image).read_bytes() for q in queries if q.kind == "image"]

    service = SearchService.from_services(Services.from_settings(settings))
    window = 100
    filters = build_filters({})
    page = {"size": PAGE, "_source": {"excludes": SOURCE_EXCLUDES}}
    vectors = service.understanding.pipeline.text_encoder.encode(english, kind="query")
    raw_bm25 = [{"query": build_bm25_query(t, filters), **page} for t in english]
    raw_knn = [{"query": build_knn_query("text_vector", v, window, filters), **page} for v in vectors]
    texts = {"English": english, "Chinese": chinese}
    native = {
        (kind, variant): native_bodies(service, words, variant == NATIVE_PAGE)
        for kind, words in texts.items()
        for variant in (NATIVE_PAGE, NATIVE_IDS)
    }

    rows: list[Row] = []
    with Api(settings, HYBRID_SEARCH_QUERY_CACHE_SIZE="0") as api:
        give_history(api, "bench-user")
        cold = {
            "/search English, query encoded": api.search(lambda i: {"q": english[i % len(english)]}),
            "/search Chinese, query encoded": api.search(lambda i: {"q": chinese[i % len(chinese)]}),
            "/search photo, photo encoded": api.search(
                lambda i: {"size": "10"}, lambda i: {"photo": ("q.jpg", photos[i % len(photos)], "image/jpeg")}
            ),
            "/search personalised, query encoded": api.search(
                lambda i: {"q": english[i % len(english)], "user_id": "bench-user"}
            ),
        }
        for concurrency in (1, 8):
            rows += [measure(name, call, args.requests, concurrency) for name, call in cold.items()]

    with Api(settings) as api:
        for words in texts.values():
            warm_query_cache(api, words)
        scenarios: dict[str, Callable[[int], dict | None]] = {}
        for kind, words in texts.items():
            for engine in (HYBRID_ENGINE, "msearch"):
                scenarios[f"/search {kind}, engine {engine}"] = api.search(
                    lambda i, words=words, engine=engine: {"q": words[i % len(words)], "engine": engine}
                )
            for variant in (NATIVE_PAGE, NATIVE_IDS):
                scenarios[f"{variant} ({kind})"] = opensearch(api.session, settings, native[kind, variant])
        scenarios[RAW_BM25] = opensearch(api.session, settings, raw_bm25)
        scenarios[RAW_KNN] = opensearch(api.session, settings, raw_knn)
        for concurrency in (1, 8):
            rows += [measure(name, call, args.requests, concurrency) for name, call in scenarios.items()]

    by_name = {(r.name, r.concurrency): r for r in rows}
    ratios = []
    for kind in texts:
        for engine in ("msearch", HYBRID_ENGINE):
            for variant in (NATIVE_PAGE, NATIVE_IDS):
                for concurrency in (1, 8):
                    ours = by_name[f"/search {kind}, engine {engine}", concurrency]
                    theirs = by_name[f"{variant} ({kind})", concurrency]
                    p99 = percentiles(ours.samples)[2] / percentiles(theirs.samples)[2]
                    ratios.append(
                        f"| {kind} | {engine} | {variant} | {concurrency} | {p99:.2f} | {ours.qps / theirs.qps:.2f} |"
                    )
    table = "\n".join(
        [
            f"{args.requests} requests per row, concurrency 1 and 8; API: `hybrid-search serve`, "
            f"{settings.api_workers} workers of one encoding thread; text `{settings.text_encoder}`; raw k-NN "
            f"k = {window}; {os.cpu_count()} cores shared by the client, the API and OpenSearch. Rows with an "
            "engine ran with a warm query cache (every query cached in every API worker, checked by a sequential "
            "pass); encode is what /search reports for planning and encoding.",
            "",
            "| scenario | concurrency | p50 ms | p95 ms | p99 ms | requests/s | median encode ms | p99 encode ms |",
            "|---|---|---|---|---|---|---|---|",
            *(table_row(r) for r in rows),
            "",
            "/search on each engine against OpenSearch's hybrid query with the same sub-queries, encoding "
            "excluded on both sides (targets: p99 ratio <= 1.1 at concurrency 1 and 8, requests/s ratio >= 0.9 "
            "at concurrency 8):",
            "",
            "| queries | /search engine | hybrid query | concurrency | p99 /search ÷ p99 hybrid query | "
            "requests/s /search ÷ hybrid query |",
            "|---|---|---|---|---|---|",
            *ratios,
            "",
            "Where /search spends its time (medians, ms): its own phase timings, and the rest of the latency the "
            "client sees (HTTP, JSON, gunicorn):",
            "",
            "| scenario | concurrency | plan + encode | engine round trips | rerank + page | outside /search | "
            "client total |",
            "|---|---|---|---|---|---|---|",
            *(phases(r) for r in rows if r.timings),
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

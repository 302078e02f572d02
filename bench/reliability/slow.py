"""Slow clients beside a search load: does a client that trickles its request hold the API?

Twenty clients each send a /search head announcing a 200-byte body, then one byte every 2 s (the
probe of 2026-12-05 sent one every 5 s), and reconnect as soon as they are answered or cut off. Beside
them, English dev queries at concurrency 8 (the knee, bench/latency), as a storefront sends them.
The same load runs without the slow clients, the two taking turns within each round (which goes
first alternates), for each worker model: ``buffered`` (the default: requests are read whole in the
worker's event loop before a thread takes them, 408 for one that falls behind) and gunicorn's
``sync`` workers, which a slow client holds until gunicorn's timeout kills them. A search that fails
or takes over 10 s counts as an error; a phase stops after 60 s.

Needs the catalog indexed (``hybrid-search up``); starts its own APIs on port 8099, one at a time.

    python bench/reliability/slow.py [--rounds 5] [--searches 2000] [--out bench/reliability/results-load.md]

Its table replaces its own section of ``--out`` (the load test's results, whose section stays).
"""

from __future__ import annotations

import argparse
import os
import random
import select
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serving import API_PORT, Api, percentiles  # noqa: E402  (bench/serving.py, shared by the benches)

from hybrid_search.core.settings import Settings  # noqa: E402
from hybrid_search.evaluation.judgments import load_queries  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
SLOW_CLIENTS = 20
BYTE_EVERY_S = 2.0
SEARCH_TIMEOUT_S = 10.0
PHASE_CAP_S = 60.0
SECTION = "## Slow clients beside a search load"
HEAD = b"POST /search HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"


class SlowClient(threading.Thread):
    """One client trickling a request body, again and again; counts how each attempt ended."""

    def __init__(self, stop: threading.Event, endings: Counter[str], lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.stop, self.endings, self.lock = stop, endings, lock

    def run(self) -> None:
        while not self.stop.is_set():
            self.count(self.attempt())

    def count(self, ending: str) -> None:
        with self.lock:
            self.endings[ending] += 1

    def attempt(self) -> str:
        try:
            with socket.create_connection(("127.0.0.1", API_PORT), timeout=5) as conn:
                conn.sendall(HEAD)
                while not self.stop.wait(BYTE_EVERY_S):
                    if select.select([conn], [], [], 0)[0]:  # answered (or closed) before the body was in
                        answer = conn.recv(4096)
                        return answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
                    conn.sendall(b" ")
                return "still sending at the end"
        except OSError as exc:
            return type(exc).__name__


def phase(api: Api, queries: list[str], searches: int, concurrency: int, slow: bool) -> dict:
    """``searches`` at ``concurrency`` (with the slow clients when ``slow``): latencies and errors."""
    stop, endings, lock = threading.Event(), Counter(), threading.Lock()
    clients = [SlowClient(stop, endings, lock) for _ in range(SLOW_CLIENTS if slow else 0)]
    for client in clients:
        client.start()
    time.sleep(1.0 if slow else 0.0)  # the slow clients connected and sending
    latencies: list[float] = []
    errors = Counter()
    started = time.perf_counter()

    def one(i: int) -> None:
        if time.perf_counter() - started > PHASE_CAP_S:
            errors["not sent: phase over 60 s"] += 1
            return
        began = time.perf_counter()
        try:
            response = api.session.get(
                f"{api.url}/search", params={"q": queries[i % len(queries)], "size": 10}, timeout=SEARCH_TIMEOUT_S
            )
            if response.ok:
                latencies.append((time.perf_counter() - began) * 1000)
            else:
                errors[str(response.status_code)] += 1
        except requests.RequestException as exc:
            errors[type(exc).__name__] += 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(searches)))
    wall_s = time.perf_counter() - started
    stop.set()
    for client in clients:
        client.join(timeout=BYTE_EVERY_S + 6)
    return {"latencies": latencies, "errors": errors, "wall_s": wall_s, "slow": endings}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the buffered worker (sync: one)")
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-load.md")
    args = parser.parse_args()
    settings = Settings()
    queries = [q.text for q in load_queries(DATA / "queries-dev.jsonl") if q.text and q.lang == "en"]
    random.Random(3).shuffle(queries)
    queries = queries[:200]
    rows = []
    for worker, rounds in (("buffered", args.rounds), ("sync", 1)):
        with Api(settings, HYBRID_SEARCH_API_WORKER=worker) as api:
            for q in queries:  # warm the query cache of every process, so encoding is not measured
                api.session.get(f"{api.url}/search", params={"q": q, "size": 10}, timeout=60)
            runs: dict[bool, list[dict]] = {False: [], True: []}
            for n in range(rounds):
                for slow in (n % 2 == 1, n % 2 == 0):
                    runs[slow].append(phase(api, queries, args.searches, args.concurrency, slow))
                    print(worker, n, "slow" if slow else "alone", summary(runs[slow][-1]), flush=True)
        rows.append((worker, runs))
    write(args, settings, rows)


def summary(run: dict) -> str:
    p50, _, p99 = percentiles(run["latencies"]) if len(run["latencies"]) > 2 else (float("nan"),) * 3
    errors = sum(run["errors"].values())
    return f"{len(run['latencies'])} ok, {errors} errors, p50 {p50:.0f} ms, p99 {p99:.0f} ms, {run['wall_s']:.0f} s"


def write(args: argparse.Namespace, settings: Settings, rows: list) -> None:
    lines = [
        f"{SECTION} ({time.strftime('%Y-%m-%d')})",
        "",
        f"`python bench/reliability/slow.py --rounds {args.rounds} --searches {args.searches}`: {SLOW_CLIENTS} "
        f"clients each trickling a /search body (one byte every {BYTE_EVERY_S:.0f} s, reconnecting when cut "
        f"off) beside {args.searches} English searches at concurrency {args.concurrency}, and the same searches "
        f"alone, taking turns; one API (`hybrid-search serve`, {settings.api_workers} processes) on "
        f"{os.cpu_count()} cores shared with OpenSearch and the clients. A search over "
        f"{SEARCH_TIMEOUT_S:.0f} s or not 2xx is an error; a phase stops after {PHASE_CAP_S:.0f} s.",
        "",
        "| worker | rounds | searches ok alone / with slow clients | errors alone / with | p50 ms alone → with | "
        "p99 ms alone → with | p99 ratio, median of rounds | how the slow attempts ended |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for worker, runs in rows:
        alone, slow = runs[False], runs[True]
        pooled = {k: [x for run in runs[k] for x in run["latencies"]] for k in (False, True)}
        p = {k: percentiles(v) if len(v) > 2 else (float("nan"),) * 3 for k, v in pooled.items()}
        ratios = [
            percentiles(s["latencies"])[2] / percentiles(a["latencies"])[2]
            for a, s in zip(alone, slow, strict=True)
            if len(s["latencies"]) > 2 and len(a["latencies"]) > 2
        ]
        endings = Counter()
        for run in slow:
            endings.update(run["slow"])
        errors = [sum(sum(run["errors"].values()) for run in runs[k]) for k in (False, True)]
        lines.append(
            f"| {worker} | {len(alone)} | {len(pooled[False])} / {len(pooled[True])} | {errors[0]} / {errors[1]} | "
            f"{p[False][0]:.0f} → {p[True][0]:.0f} | {p[False][2]:.0f} → {p[True][2]:.0f} | "
            f"{statistics.median(ratios) if ratios else float('nan'):.2f} | "
            f"{', '.join(f'{k}: {v}' for k, v in endings.most_common())} |"
        )
    before = args.out.read_text().split(SECTION)[0].rstrip("\n") if args.out.exists() else ""
    args.out.write_text((before + "\n\n" if before else "") + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""A bounded load test at the knee: a fixed number of requests at the concurrency where /search's
throughput stops rising (8 on this machine, bench/latency), held for about five minutes, while a
merchant uploads products and a storefront sends events.

The mix, drawn from the dev queries with a fixed seed: English and Chinese searches (some with
filters or a second page), photo searches, personalised searches, passthrough facet queries and
event batches, all as a storefront sends them (its client key); beside them, one upload of 20
text-only products every 10 s through the merchant API, embedded by one ``hybrid-search worker``.
Reported: requests, errors (any answer but 2xx, or none), latency percentiles and requests/s; the
products uploaded, ready at the end, and lost. The uploaded products are deleted afterwards.

Needs the catalog indexed (``hybrid-search up`` or ``load-catalog``) and the same
``HYBRID_SEARCH_FUSION_MODEL`` as the index.

    python bench/reliability/load.py [--requests 11000] [--concurrency 8] [--out bench/reliability/results-load.md]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serving import Api, percentiles  # noqa: E402  (bench/serving.py, shared by the benches)
from slow import SECTION as SLOW_SECTION  # noqa: E402  (bench/reliability/slow.py: its section of --out)

from hybrid_search.core.settings import Settings  # noqa: E402
from hybrid_search.evaluation.judgments import load_queries  # noqa: E402
from hybrid_search.stores.opensearch.client import make_client  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
UPLOAD_EVERY_S = 10
UPLOAD_BATCH = 20
READY_WAIT_S = 600
MERCHANT = "load-bench"


def requests_mix(count: int, seed: int) -> list[tuple[str, dict]]:
    """``count`` (kind, request) pairs: what a storefront's backend sends in a busy minute."""
    queries = load_queries(DATA / "queries-dev.jsonl")
    english = [q.text for q in queries if q.kind in ("keyword", "synonym")]
    chinese = [q.text for q in queries if q.kind == "chinese"]
    photos = [q.image for q in queries if q.kind == "image"]
    rng = random.Random(seed)
    product_ids = sorted({line.split()[-2] for line in (DATA / "qrels-dev.tsv").read_text().splitlines()})
    kinds = ["english"] * 45 + ["chinese"] * 15 + ["photo"] * 10 + ["personal"] * 15 + ["facets"] * 5 + ["events"] * 10
    out = []
    for _ in range(count):
        kind = rng.choice(kinds)
        if kind == "english":
            params = {"q": rng.choice(english), "page": rng.choice([1, 1, 1, 2])}
            if rng.random() < 0.2:
                params["gender"] = rng.choice(["Men", "Women"])
            out.append((kind, params))
        elif kind == "chinese":
            out.append((kind, {"q": rng.choice(chinese)}))
        elif kind == "photo":
            out.append((kind, {"image": rng.choice(photos)}))
        elif kind == "personal":
            out.append((kind, {"q": rng.choice(english), "user_id": f"shopper-{rng.randrange(200)}"}))
        elif kind == "facets":
            term = rng.choice(english).split()[-1]
            out.append(
                (
                    kind,
                    {
                        "query": {"match": {"title": term}},
                        "size": 10,
                        "aggs": {"types": {"terms": {"field": "article_type"}}},
                    },
                )
            )
        else:
            user = f"shopper-{rng.randrange(200)}"
            action = rng.choice(["click", "click", "add_to_cart", "purchase"])
            event = {
                "action_name": action,
                "user_id": user,
                "session_id": f"{user}-s",
                "event_attributes": {"object": {"object_id": rng.choice(product_ids)}},
            }
            out.append((kind, {"events": [event]}))
    return out


def send(api: Api, settings: Settings, kind: str, request: dict) -> int:
    """One request; its HTTP status (0 when none came back)."""
    try:
        if kind == "photo":
            photo = (DATA / request["image"]).read_bytes()
            response = api.session.post(
                f"{api.url}/search", files={"photo": ("q.jpg", photo, "image/jpeg")}, timeout=60
            )
        elif kind == "facets":
            response = api.session.post(f"{api.url}/{settings.products_alias}/_search", json=request, timeout=60)
        elif kind == "events":
            response = api.session.post(f"{api.url}/events", json=request["events"], timeout=60)
        else:
            response = api.session.get(f"{api.url}/search", params=request, timeout=60)
        return response.status_code
    except requests.RequestException:
        return 0


class Uploader(threading.Thread):
    """A merchant uploading a batch of text-only products every UPLOAD_EVERY_S until stopped."""

    def __init__(self, api: Api, merchant_key: str) -> None:
        super().__init__(daemon=True)
        self.api, self.headers = api, {"X-API-Key": merchant_key}
        self.stop = threading.Event()
        self.ids: list[str] = []
        self.errors: Counter[int] = Counter()
        self.run_id = uuid.uuid4().hex[:6]

    def run(self) -> None:
        batch = 0
        while not self.stop.wait(0 if batch == 0 else UPLOAD_EVERY_S):
            rows = [
                {
                    "product_id": f"load-{self.run_id}-{batch}-{i}",
                    "title": f"Load test {['black', 'blue', 'red'][i % 3]} cotton shirt {batch}-{i}",
                    "article_type": "Shirts",
                    "price": 10 + i,
                }
                for i in range(UPLOAD_BATCH)
            ]
            try:
                response = self.api.session.post(
                    f"{self.api.url}/products", json=rows, headers=self.headers, timeout=60
                )
                status = response.status_code
            except requests.RequestException:
                status = 0
            if status == 202:
                self.ids += [r["product_id"] for r in rows]
            else:
                self.errors[status] += 1
            batch += 1


def statuses(api: Api, merchant_key: str) -> Counter[str]:
    headers = {"X-API-Key": merchant_key}
    found: Counter[str] = Counter()
    url = f"{api.url}/products?size=1000"
    while url:
        page = api.session.get(url, headers=headers, timeout=60).json()
        found.update(p["status"] for p in page["products"])
        url = f"{api.url}{page['next']}" if "next" in page else ""
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=11_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-load.md")
    args = parser.parse_args()
    settings = Settings()
    merchant_key = "load-bench-key"
    env = {"HYBRID_SEARCH_MERCHANT_KEYS": f'{{"{merchant_key}": "{MERCHANT}"}}'}
    mix = requests_mix(args.requests, args.seed)
    worker = subprocess.Popen(
        [sys.executable, "-m", "hybrid_search.cli", "worker", "--concurrency", "1"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with Api(settings, **env) as api:
            uploader = Uploader(api, merchant_key)
            latencies: list[float] = []
            codes: Counter[int] = Counter()
            by_kind: Counter[str] = Counter()
            lock = threading.Lock()

            def timed(item: tuple[str, dict]) -> None:
                started = time.perf_counter()
                status = send(api, settings, *item)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    codes[status] += 1
                    if not 200 <= status < 300:
                        by_kind[item[0]] += 1

            uploader.start()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(timed, mix))
            wall_s = time.perf_counter() - started
            uploader.stop.set()
            uploader.join()
            drained = time.perf_counter()
            while time.perf_counter() - drained < READY_WAIT_S:
                found = statuses(api, merchant_key)
                if found.get("pending", 0) == 0 and sum(found.values()) >= len(uploader.ids):
                    break
                time.sleep(5)
            ready_after_s = time.perf_counter() - drained
            found = statuses(api, merchant_key)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        # leave the catalog as it was (one delete-by-query: the API's deletes wait for a refresh each)
        client = make_client(settings)
        client.delete_by_query(
            index=settings.products_alias,
            body={"query": {"term": {"merchant_id": MERCHANT}}},
            params={"refresh": "true"},
        )

    errors = sum(n for status, n in codes.items() if not 200 <= status < 300)
    p50, p95, p99 = percentiles(latencies)
    lost = len(uploader.ids) - found.get("ready", 0) - found.get("failed", 0)
    table = "\n".join(
        [
            f"{args.requests} requests at concurrency {args.concurrency} (seed {args.seed}), one API "
            f"(`hybrid-search serve`, {settings.api_workers} workers) and one embedding worker on "
            f"{os.cpu_count()} cores shared with OpenSearch and the client; mix: 45% English and 15% Chinese "
            "searches, 10% photo, 15% personalised, 5% passthrough facets, 10% events; one upload of "
            f"{UPLOAD_BATCH} products every {UPLOAD_EVERY_S} s.",
            "",
            "| requests | errors | wall s | requests/s | p50 ms | p95 ms | p99 ms | answers |",
            "|---|---|---|---|---|---|---|---|",
            f"| {len(latencies)} | {errors} | {wall_s:.0f} | {len(latencies) / wall_s:.1f} | {p50:.0f} | {p95:.0f} | "
            f"{p99:.0f} | {', '.join(f'{s}: {n}' for s, n in sorted(codes.items()))} |",
            "",
            "| products uploaded | upload errors | ready | failed | pending | lost | all ready s after the load |",
            "|---|---|---|---|---|---|---|",
            f"| {len(uploader.ids)} | {sum(uploader.errors.values())} | {found.get('ready', 0)} | "
            f"{found.get('failed', 0)} | {found.get('pending', 0)} | {lost} | {ready_after_s:.0f} |",
            "",
            f"Errors by kind: {dict(by_kind) or 'none'}.",
            "",
            "    python bench/reliability/load.py",
        ]
    )
    # the slow-client run (slow.py) keeps its own section of the same file
    kept = args.out.read_text().partition(SLOW_SECTION)[1:] if args.out.exists() else ("", "")
    args.out.write_text(f"# Load at the knee\n\n{table}\n" + (f"\n{''.join(kept)}" if kept[0] else ""))
    print(table)


if __name__ == "__main__":
    main()

"""Ingestion through outages: products uploaded, then OpenSearch (or Redis) killed with SIGKILL and
restarted, one ``hybrid-search worker`` (with its reconciler schedule) running throughout.

Each scenario runs on a node, a Redis and a worker of its own (fresh data folders, free loopback
ports), so a running ``hybrid-search up`` is left alone. Reported: how long after the kill and after
the restart every product was ``ready``, and the products lost (missing), duplicated, failed or
still pending at the end; the worker's retries as its log counts them, and how many of those read a
batch whose documents could not be read yet (before the fix, such a batch was reported missing and
its products waited for the reconciler).

    python bench/reliability/run.py [--products 2000] [--out bench/reliability/results.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from hybrid_search.core.catalog import doc_id, parse_products
from hybrid_search.core.errors import HybridSearchError
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.ingest import submit_products
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch
from hybrid_search.local.process import ManagedProcess
from hybrid_search.local.redis import LocalRedis
from hybrid_search.models.sets import ModelSet
from hybrid_search.queue import enqueue_embedding, make_celery
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.products import get_products, refresh, status_counts

CHUNK = 64  # products per upload, as hybrid-search load-catalog sends them
GIVE_UP_S = 15 * 60


@dataclass(frozen=True)
class Scenario:
    name: str
    kill: str  # "opensearch" or "redis"
    kill_after_s: float  # after the upload finished
    down_s: float


SCENARIOS = (
    Scenario("OpenSearch killed 3 s after the upload, restarted 30 s later", "opensearch", 3, 30),
    Scenario("Redis killed 3 s after the upload, restarted 10 s later", "redis", 3, 10),
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(scenario: Scenario, products: int, base: Path) -> dict[str, object]:
    node = LocalOpenSearch(
        Settings().cache_dir,
        LocalNodeConfig(node_dir=base / "node", http_port=free_port(), transport_port=free_port(), heap="1g"),
    )
    rds = LocalRedis(base / "redis", free_port())
    prefix = f"r{uuid.uuid4().hex[:8]}"
    settings = Settings(
        opensearch_url=node.config.url,
        redis_url=f"redis://127.0.0.1:{rds.port}/0",
        products_alias=f"{prefix}-products",
        events_alias=f"{prefix}-events",
        data_dir=base / "data",
    )
    worker = ManagedProcess("worker", base / "worker.pid", base / "worker.log")
    try:
        node.start(timeout_s=300)
        rds.start()
        client = make_client(settings)
        ensure_indices(client, settings, ModelSet.from_settings(settings))
        start_worker(worker, settings)
        started = time.monotonic()
        rows = upload(client, settings, products)
        uploaded = time.monotonic()
        time.sleep(scenario.kill_after_s)
        before = counts(client, settings)
        victim = node if scenario.kill == "opensearch" else rds
        victim.process.kill()
        killed = time.monotonic()
        time.sleep(scenario.down_s)
        victim.start(**({"timeout_s": 300} if victim is node else {}))
        return {"scenario": scenario.name, **settled(client, settings, rows, worker, before, started, uploaded, killed)}
    finally:
        worker.stop()
        node.stop()
        rds.stop()


def start_worker(worker: ManagedProcess, settings: Settings) -> None:
    """``hybrid-search worker`` (with its schedule) on ``settings``' services and nothing else's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYBRID_SEARCH_")}
    env |= {
        "HYBRID_SEARCH_OPENSEARCH_HOSTS": ",".join(settings.opensearch_endpoints),
        "HYBRID_SEARCH_REDIS_URL": settings.redis_url,
        "HYBRID_SEARCH_PRODUCTS_ALIAS": settings.products_alias,
        "HYBRID_SEARCH_EVENTS_ALIAS": settings.events_alias,
        "HYBRID_SEARCH_DATA_DIR": str(settings.data_dir),
    }
    worker.start(
        [sys.executable, "-m", "hybrid_search.cli", "worker"],
        lambda: " ready." in worker.log_file.read_text(errors="replace"),
        timeout_s=180,
        env=env,
    )


def upload(client, settings: Settings, products: int) -> list[dict[str, str]]:
    """``products`` text-only products of merchant "bench", in chunks as POST /products takes them."""
    rows = [
        {"product_id": f"r-{i:05d}", "title": f"Roadster Men Navy Blue Checked Casual Shirt {i}", "gender": "Men"}
        for i in range(products)
    ]
    enqueue = enqueue_embedding(make_celery(settings))
    for start in range(0, products, CHUNK):
        submit_products(client, settings, "bench", parse_products(rows[start : start + CHUNK]), {}, enqueue)
    return rows


def settled(client, settings: Settings, rows, worker: ManagedProcess, before, started, uploaded, killed) -> dict:
    """Wait until every product of ``rows`` is ready (or GIVE_UP_S); then what the load ended with,
    timed from the upload's start and end and from the kill (a killed service was started again)."""
    restarted, now = time.monotonic(), {}
    while now.get("ready") != len(rows) and time.monotonic() - restarted < GIVE_UP_S:
        time.sleep(1)
        try:
            now = counts(client, settings)
        except HybridSearchError:
            now = {}
    done = time.monotonic()
    stored = get_products(client, settings.products_alias, [doc_id("bench", row["product_id"]) for row in rows])
    log = worker.log_file.read_text(errors="replace")
    return {
        "products": len(rows),
        "upload_s": uploaded - started,
        "ready_at_kill": before.get("ready", 0),
        "after_kill_s": done - killed,
        "after_restart_s": done - restarted,
        "final": now,
        "missing": len(rows) - len(stored),
        "documents": client.count(index=settings.products_alias)["count"],
        "retries": log.count(" retry: Retry in "),
        "unreadable": sum("unreadable" in line for line in log.splitlines() if " retry: Retry in " in line),
    }


def counts(client, settings: Settings) -> dict[str, int]:
    refresh(client, settings.products_alias)
    return status_counts(client, settings.products_alias)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()
    results = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory(prefix="reliability-") as base:
            results.append(run(scenario, args.products, Path(base)))
            print(results[-1], flush=True)
    lines = [
        f"{args.products} text-only products uploaded in chunks of {CHUNK} (the path of POST /products), one "
        f"`hybrid-search worker` ({os.cpu_count()} cores: 2 processes, reconciler on its schedule), the service "
        "killed with SIGKILL after the upload and restarted; node, Redis and worker of the run's own.",
        "",
        "| scenario | upload s | ready at the kill | all ready after the kill s | after the restart s | "
        "end state | missing | documents | task retries | of them: documents unreadable (shard recovering) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['upload_s']:.1f} | {r['ready_at_kill']} | {r['after_kill_s']:.1f} | "
            f"{r['after_restart_s']:.1f} | {r['final']} | {r['missing']} | {r['documents']} | {r['retries']} | "
            f"{r['unreadable']} |"
        )
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

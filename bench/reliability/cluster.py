"""A node lost from a three-node cluster in the middle of a catalog load and under search load, and a
rolling restart of all three.

A cluster of three nodes on loopback (``local up --nodes 3``: each its own JVM, fresh data folders,
free ports) holds the fashion catalog's 18,283 products (titles and attributes as the templates map
them, written through the project's own documents; no vectors: the load is BM25, the leg every text
query runs) in three primaries with a replica each. Eight threads search it without pause through
the project's client, which knows the three hosts. Then:

0. before that, a catalog load: ``--products`` text-only products uploaded as POST /products does
   (pending documents, then tasks), one ``hybrid-search worker`` (its own Redis) embedding them; one
   node killed with ``kill -9`` 3 s after the upload, brought back 30 s later;
1. ``kill -9`` one node under the search load; bring it back 30 s later; wait for green;
2. a rolling restart: each node in turn stopped (SIGTERM), started again, the cluster green again
   before the next.

Reported: for the load, how long until every product was ready after the kill and after the restart,
the products missing, duplicated, failed or pending at the end, and the worker's task retries; for
the searches, those that failed (an error, or an answer missing shards), latency p50 / p99 before,
during and after each event, how long the cluster took to notice the lost node (yellow on two
nodes) and to be green again after it came back, and the products counted at the end (0 lost).

    python bench/reliability/cluster.py [--seconds 30] [--products 2000] [--out bench/reliability/results-cluster.md]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from hybrid_search.core.catalog import doc_id, parse_products, product_document
from hybrid_search.core.errors import HybridSearchError
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.core.settings import Settings
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch, cluster_configs
from hybrid_search.local.process import ManagedProcess, free_ports
from hybrid_search.local.redis import LocalRedis
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import make_client, translated_errors
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.queries import build_bm25_query

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import counts, settled, start_worker, upload  # noqa: E402  (bench/reliability/run.py: the same load, one node)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
ALIAS = "cluster-bench"
QUERIES = ("black sports shoes", "blue jeans", "white shirt", "red handbag", "watches", "navy blue t-shirt")
CONCURRENCY = 8


class Load:
    """``CONCURRENCY`` threads searching without pause; every search timed and checked."""

    def __init__(self, client) -> None:
        self.client = client
        self.records: list[tuple[float, float, bool]] = []  # (finished at, seconds, answered in full)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(CONCURRENCY)]

    def run(self, worker: int) -> None:
        n = worker
        while not self.stop.is_set():
            query = build_bm25_query(QUERIES[n % len(QUERIES)], {"match_all": {}})
            body = {"query": query, "size": 10, "_source": False}
            started = time.monotonic()
            try:
                with translated_errors("searching"):
                    found = self.client.search(index=ALIAS, body=body)
                shards = found["_shards"]
                ok = shards["failed"] == 0 and shards["successful"] == shards["total"] and found["hits"]["hits"]
            except HybridSearchError:
                ok = False
            done = time.monotonic()
            with self.lock:
                self.records.append((done, done - started, ok))
            n += CONCURRENCY

    def window(self, start: float, end: float) -> dict[str, float]:
        rows = [r for r in self.records if start <= r[0] < end]
        times = sorted(r[1] for r in rows if r[2])
        q = statistics.quantiles(times, n=100) if len(times) >= 2 else [float("nan")] * 99
        return {
            "searches": len(rows),
            "failed": sum(not r[2] for r in rows),
            "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
        }


def wait_health(client, nodes: int, status: str, timeout_s: float = 300) -> float:
    """Seconds until the cluster has ``nodes`` nodes and is at least ``status``."""
    started = time.monotonic()
    params = {"wait_for_nodes": str(nodes), "wait_for_status": status, "timeout": f"{int(timeout_s)}s"}
    health = client.cluster.health(params=params, request_timeout=timeout_s + 30)
    if health["timed_out"]:
        raise RuntimeError(f"cluster not {status} on {nodes} nodes after {timeout_s}s: {health}")
    return round(time.monotonic() - started, 1)


def catalog_load(nodes: list[LocalOpenSearch], settings: Settings, products: int, base: Path) -> dict[str, object]:
    """Upload ``products`` (``run.py``'s: in chunks, as POST /products takes them) for a worker of the
    run's own to embed; SIGKILL the second node 3 s after the upload, start it again 30 s later, wait until every
    product is ready (or 15 min)."""
    redis = LocalRedis(base / "redis", free_ports(1, 6400 + os.getpid() % 500))
    settings = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{redis.port}/0",
            "products_alias": "cluster-load",
            "events_alias": "cluster-load_events",
            "data_dir": base / "data",
        }
    )
    worker = ManagedProcess("worker", base / "worker.pid", base / "worker.log")
    client = make_client(settings)
    try:
        redis.start()
        ensure_indices(client, settings, ModelSet.from_settings(settings))
        wait_health(client, 3, "green")
        start_worker(worker, settings)
        started = time.monotonic()
        rows = upload(client, settings, products)
        uploaded = time.monotonic()
        time.sleep(3)
        before = counts(client, settings)
        victim = nodes[1]
        os.kill(victim.process.pid() or 0, signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(30)
        victim.start(timeout_s=300, wait=False)
        loaded = settled(client, settings, rows, worker, before, started, uploaded, killed)
        wait_health(client, 3, "green")
        return loaded
    finally:
        worker.stop()
        redis.stop()


def count(client) -> int:
    client.indices.refresh(index=ALIAS)
    return client.count(index=ALIAS)["count"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="load before, between and after each event")
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--products", type=int, default=2000, help="the catalog load a node is killed in")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results-cluster.md")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    http = free_ports(3, 20000 + os.getpid() % 300 * 40)  # below the ephemeral ports the load's sockets take
    config = LocalNodeConfig(base, http, free_ports(3, http + 3), heap=args.heap)
    nodes = [LocalOpenSearch(Settings().cache_dir, c) for c in cluster_configs(config, 3)]
    settings = Settings(
        opensearch_hosts=tuple(n.config.url for n in nodes),
        opensearch_timeout_s=10,
        products_alias=ALIAS,
        events_alias=f"{ALIAS}_events",
        number_of_shards=3,
        number_of_replicas=1,
    )
    client = make_client(settings)
    try:
        for i, node in enumerate(nodes, start=1):
            node.start(timeout_s=300, wait=i == len(nodes))
        loaded = catalog_load(nodes, settings, args.products, base)
        print(loaded, flush=True)
        ensure_indices(client, settings, ModelSet.from_settings(settings))
        rows = [json.loads(line) for line in (DATA / "products.jsonl").open(encoding="utf-8")]
        products = parse_products([FASHION_FORMAT.product(r) for r in rows])
        for i in range(0, len(products), 1000):
            actions = []
            for p in products[i : i + 1000]:
                actions += [
                    {"index": {"_index": ALIAS, "_id": doc_id("bench", p.product_id)}},
                    product_document(p, "bench", None),
                ]
            assert not client.bulk(body=actions, request_timeout=120)["errors"]
        total = count(client)
        wait_health(client, 3, "green")
        load = Load(client)
        for thread in load.threads:
            thread.start()
        marks: dict[str, float] = {"start": time.monotonic()}
        time.sleep(args.seconds)
        victim = nodes[1]
        marks["kill"] = time.monotonic()
        os.kill(victim.process.pid() or 0, signal.SIGKILL)
        noticed = wait_health(client, 2, "yellow")
        time.sleep(max(0.0, args.seconds - noticed))
        marks["restart"] = time.monotonic()
        victim.start(timeout_s=300, wait=False)
        green_again = wait_health(client, 3, "green")
        marks["green"] = time.monotonic()
        time.sleep(args.seconds)
        marks["rolling"] = time.monotonic()
        rolling = []
        for node in nodes:
            stopped = time.monotonic()
            node.stop()
            wait_health(client, 2, "yellow")  # the cluster has seen it go
            node.start(timeout_s=300, wait=False)
            wait_health(client, 3, "green")
            rolling.append(round(time.monotonic() - stopped, 1))
        marks["rolled"] = time.monotonic()
        time.sleep(args.seconds)
        marks["end"] = time.monotonic()
        load.stop.set()
        for thread in load.threads:
            thread.join()
        after = count(client)
    finally:
        for node in nodes:
            node.stop()
    windows = {
        "before (3 nodes, green)": load.window(marks["start"], marks["kill"]),
        "node killed, until it is back": load.window(marks["kill"], marks["restart"]),
        "node back, until green": load.window(marks["restart"], marks["green"]),
        "after (green)": load.window(marks["green"], marks["rolling"]),
        "rolling restart of all three": load.window(marks["rolling"], marks["rolled"]),
        "after the rolling restart": load.window(marks["rolled"], marks["end"]),
    }
    rows = windows.items()
    lines = [
        "# results-cluster",
        "",
        f"A catalog load on the same 3 nodes (3 primaries, a replica each): {loaded['products']:,} text-only products",
        "uploaded in chunks of 64 (the path of POST /products), one `hybrid-search worker` embedding them, the",
        "second node killed with SIGKILL 3 s after the upload and started again 30 s later.",
        "",
        "| upload s | ready at the kill | all ready after the kill s | after the restart s | end state | missing "
        "| documents | task retries |",
        "|---|---|---|---|---|---|---|---|",
        f"| {loaded['upload_s']:.1f} | {loaded['ready_at_kill']} | {loaded['after_kill_s']:.1f} | "
        f"{loaded['after_restart_s']:.1f} | {loaded['final']} | {loaded['missing']} | {loaded['documents']} | "
        f"{loaded['retries']} |",
        "",
        f"3 nodes on loopback, {args.heap} heap each, this 2-core machine; {total:,} products in 3 primaries",
        "with a replica each;"
        f" BM25 searches at concurrency {CONCURRENCY} through the project's client (3 hosts) throughout.",
        "",
        "| window | searches | failed | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {w['searches']} | {w['failed']} | {w['p50_ms']} | {w['p99_ms']} |"
            for name, w in windows.items()
        ),
        "",
        f"- kill -9 of one node: the cluster noticed (yellow on 2 nodes) in {noticed} s; "
        f"back to green {green_again} s after the node was started again",
        f"- rolling restart (SIGTERM, start, green, next): {', '.join(f'{s} s' for s in rolling)} from stop to green",
        f"- products before / after: {total:,} / {after:,} ({total - after} lost)",
        "",
        f"`python bench/reliability/cluster.py --seconds {args.seconds:g} --heap {args.heap}"
        f" --products {args.products}`",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

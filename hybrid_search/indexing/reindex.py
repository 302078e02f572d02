"""Reindex into a new model version (a new physical index behind the alias, swapped when every product is
embedded) and the reconciler that queues again what stayed pending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.settings import Settings
from hybrid_search.indexing.ingest import Enqueue, enqueue_in_batches
from hybrid_search.models.live import alias_record
from hybrid_search.models.pipeline import EmbeddingPipeline, reusable
from hybrid_search.models.sets import ModelSet, configured_models
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.indices import (
    activate_built,
    alias_targets,
    building_indices,
    copy_as_pending,
    create_versioned_index,
    drop_superseded,
    install_template,
    products_index_name,
    products_index_version,
    recorded_schema,
    render_products_template,
    update_meta,
)
from hybrid_search.stores.opensearch.products import (
    create_documents,
    iter_product_ids,
    iter_source_batches,
    refresh,
    stale_pending_ids,
    status_counts,
    touch_pending,
)

READY = {"term": {"status": "ready"}}
REFUSE_BATCH = 500  # products per bulk request when re-fusing: about 20 MB of JSON vectors
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class ReindexPlan:
    index: str
    queued: int
    swap_pending: bool  # True: the alias moves to ``index`` once it has no pending product


def reindex(
    client: OpenSearchClient, settings: Settings, enqueue: Enqueue, merchant_id: str | None = None
) -> ReindexPlan:
    """Re-embed products with the configured models (``configured_models``).

    Same model version as the live index: re-embed in place (recording the models, for an index from
    before model records, and any new attribute heads). A new version: build its own physical index
    (``build_index``: re-fused there when only the fusion or the template schema changed, else copied
    pending, keeping the vectors the new models share, and embedded by the workers), and leave the
    swap of the alias to ``activate_when_ready``; the old index stays (the newest
    ``keep_superseded_indices`` of those the swaps left behind do), to point the alias back at.
    """
    alias = settings.products_alias
    record = alias_record(client, alias)
    live = [record[0]] if record else []
    live_models = (record[1] or ModelSet.from_settings(settings)) if record else None
    models = configured_models(settings, live_models)
    schema = recorded_schema(client, alias)
    target = products_index_name(alias, models.version, schema.mapping_version if schema else 0)
    if target in live:
        if record and record[1] != models:
            update_meta(client, target, {"models": models.to_meta()})
        ids = list(iter_product_ids(client, target, merchant_id=merchant_id))
        return ReindexPlan(target, enqueue_in_batches(ids, target, settings.embed_batch_size, enqueue), False)
    if merchant_id is not None:
        raise InvalidInputError("merchant", "a new model version is built for the whole catalog, not one merchant")
    return ReindexPlan(target, build_index(client, settings, models, live_models, enqueue), True)


def build_index(
    client: OpenSearchClient,
    settings: Settings,
    models: ModelSet,
    live_models: ModelSet | None,
    enqueue: Enqueue,
    progress: Progress = lambda done, total: None,
) -> int:
    """Create the index of ``models`` (marked as being built), fill it from the live catalog, and
    queue what is pending there; returns how many were queued.

    When ``models`` keep both the live text and photo vectors (a new fusion), the ready products are
    re-fused here and written ready (``refuse_ready``). Otherwise, and for products not ready, they
    are copied as pending, keeping the vectors ``models`` share, for the workers to embed.
    """
    alias = settings.products_alias
    schema = recorded_schema(client, alias)
    install_template(client, alias, render_products_template(settings, alias, schema))
    version = products_index_version(models.version, schema.mapping_version if schema else 0)
    target = create_versioned_index(client, alias, version, activate=False, meta={"models": models.to_meta()})
    live = alias_targets(client, alias)
    if live and live_models is not None:
        reuse = reusable(live_models.version, models.version)
        keep = [name for name, ok in reuse.items() if ok]
        if all(reuse.values()):  # only the fusion (or the template) changed
            refuse_ready(client, live[0], target, EmbeddingPipeline(settings, models), progress)
            copy_as_pending(client, live[0], target, keep=keep, query={"bool": {"must_not": [READY]}})
        else:
            copy_as_pending(client, live[0], target, keep=keep)
    refresh(client, target)
    ids = list(iter_product_ids(client, target, status="pending"))
    return enqueue_in_batches(ids, target, settings.embed_batch_size, enqueue)


def refuse_ready(
    client: OpenSearchClient, source: str, target: str, pipeline: EmbeddingPipeline, progress: Progress
) -> None:
    """Write every ready product of ``source`` into ``target`` with ``pipeline``'s fusion of its stored
    vectors, ready: each product is indexed once, where a copy and then a worker's update built each
    of its HNSW graphs twice. A product the pipeline cannot embed from its stored vectors goes over
    pending; a product ``target`` already holds (an upload meanwhile) is newer and kept."""
    total, done = status_counts(client, source).get("ready", 0), 0
    for batch in iter_source_batches(client, source, READY, size=REFUSE_BATCH):
        vectors, _ = pipeline.vectors(batch)
        now = datetime.now(UTC).isoformat()
        docs = [
            _refused(doc, vectors[i], pipeline.version, now) if i in vectors else _pending(doc)
            for i, doc in enumerate(batch)
        ]
        create_documents(client, target, docs)
        done += len(batch)
        progress(done, total)


def _refused(doc: dict[str, Any], vectors: dict[str, Any], version: str, now: str) -> dict[str, Any]:
    """``doc`` with its new vectors, as a worker's update would leave it (new tags merged over the old;
    no behaviour vector where the product has no events, whatever an older index stored)."""
    tags = doc.get("tags", {}) | vectors.get("tags", {})
    return doc | vectors | ({"tags": tags} if tags else {}) | {"model_version": version, "updated_at": now}


def _pending(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` for the workers to embed again, without its old fusion."""
    return {k: v for k, v in doc.items() if k != "fused_vector"} | {"status": "pending", "status_reason": None}


def activate_when_ready(client: OpenSearchClient, settings: Settings, index: str) -> bool:
    """Point the alias at ``index`` once none of its products is pending, and delete the indices that
    leaves behind beyond ``keep_superseded_indices``; False means not yet."""
    if status_counts(client, index).get("pending", 0) > 0:
        return False
    activate_built(client, settings.products_alias, index)
    drop_superseded(client, settings.products_alias, settings.keep_superseded_indices)
    return True


def reconcile(client: OpenSearchClient, settings: Settings, enqueue: Enqueue) -> int:
    """Re-queue products pending for longer than ``stale_pending_after_s`` (their task was lost)."""
    queued = 0
    alias = settings.products_alias
    for index in alias_targets(client, alias) + building_indices(client, alias):
        ids = stale_pending_ids(client, index, settings.stale_pending_after_s)
        touch_pending(client, index, ids)
        queued += enqueue_in_batches(ids, index, settings.embed_batch_size, enqueue)
    return queued

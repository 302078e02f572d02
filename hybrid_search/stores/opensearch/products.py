"""Product documents in OpenSearch: pending writes, guarded vector updates, status queries."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch, helpers

from hybrid_search.core.catalog import doc_id
from hybrid_search.core.errors import BackendError, InvalidInputError
from hybrid_search.stores.opensearch.client import mget_found, translated_errors


@dataclass(frozen=True)
class StoredProduct:
    doc_id: str  # "<merchant>/<product id>"
    source: dict[str, Any]
    seq_no: int
    primary_term: int


def write_documents(client: OpenSearch, index: str, docs: Sequence[dict[str, Any]], refresh: bool = False) -> None:
    """Index (create or replace) ``docs`` by their merchant's product id; any item failure raises BackendError."""
    actions = [
        {"_op_type": "index", "_index": index, "_id": doc_id(doc["merchant_id"], doc["product_id"]), "_source": doc}
        for doc in docs
    ]
    with translated_errors(f"writing {len(docs)} products to {index}"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False, refresh="wait_for" if refresh else False)
    if errors:
        raise BackendError(f"{len(errors)} of {len(docs)} products were not written to {index}: {errors[0]}")


def create_documents(client: OpenSearch, index: str, docs: Sequence[dict[str, Any]]) -> None:
    """Write the ``docs`` that ``index`` does not hold yet (one written there meanwhile, such as an
    upload during a copy, is newer and kept)."""
    actions = [
        {"_op_type": "create", "_index": index, "_id": doc_id(doc["merchant_id"], doc["product_id"]), "_source": doc}
        for doc in docs
    ]
    with translated_errors(f"writing {len(docs)} products to {index}"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False)
    if failed := [e for e in errors if e.get("create", {}).get("status") != 409]:
        raise BackendError(f"{len(failed)} of {len(docs)} products were not written to {index}: {failed[0]}")


# Large vectors a worker recomputes anyway; the small behaviour vector is an input to fusion.
RECOMPUTED_VECTORS = "fused_vector"  # text and photo vectors are read back: a new fusion can reuse them


def get_products(client: OpenSearch, index: str, ids: Sequence[str]) -> dict[str, StoredProduct]:
    """The stored documents among ``ids`` (those that do not exist are left out), with their versions;
    ServiceUnavailableError when any of them cannot be read now."""
    if not ids:
        return {}
    params = {"_source_excludes": RECOMPUTED_VECTORS}
    return {
        doc["_id"]: StoredProduct(doc["_id"], doc["_source"], doc["_seq_no"], doc["_primary_term"])
        for doc in mget_found(client, index, ids, params, f"reading {len(ids)} products from {index}")
    }


def get_product(client: OpenSearch, index: str, document_id: str, with_vectors: bool = False) -> dict[str, Any]:
    params = {} if with_vectors else {"_source_excludes": "*_vector"}
    with translated_errors(f"reading product {document_id}"):
        return client.get(index=index, id=document_id, params=params)["_source"]


def update_guarded(client: OpenSearch, index: str, updates: Sequence[tuple[StoredProduct, dict[str, Any]]]) -> int:
    """Apply partial ``updates`` only to documents unchanged since they were read.

    A document re-uploaded meanwhile has a new sequence number; its update is skipped (its own
    task will embed the new content). Returns how many were skipped that way.
    """
    if not updates:
        return 0
    actions = [
        {
            "_op_type": "update",
            "_index": index,
            "_id": stored.doc_id,
            "doc": partial,
            "if_seq_no": stored.seq_no,
            "if_primary_term": stored.primary_term,
        }
        for stored, partial in updates
    ]
    with translated_errors(f"updating {len(updates)} products in {index}"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False)
    conflicts = [e for e in errors if next(iter(e.values())).get("status") in (404, 409)]
    if len(conflicts) != len(errors):
        raise BackendError(f"{len(errors) - len(conflicts)} product updates failed in {index}: {errors[0]}")
    return len(conflicts)


def delete_products(client: OpenSearch, index: str, document_ids: Sequence[str]) -> list[str]:
    """Delete products in one bulk request; returns the ids that were there. No waiting for a
    refresh (that held an API worker for seconds a delete, and a missing id as long): a get no
    longer finds them at once, searches after the index's next refresh."""
    if not document_ids:
        return []
    actions = [{"_op_type": "delete", "_index": index, "_id": key} for key in document_ids]
    with translated_errors(f"deleting {len(document_ids)} products from {index}"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False)
    missing = {e["delete"]["_id"] for e in errors if e.get("delete", {}).get("status") == 404}
    if len(missing) != len(errors):
        raise BackendError(f"{len(errors) - len(missing)} product deletes failed in {index}: {errors[0]}")
    return [key for key in document_ids if key not in missing]


def list_products(
    client: OpenSearch,
    index: str,
    merchant_id: str | None = None,
    status: str | None = None,
    size: int = 50,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One page of products ordered by merchant, then id, optionally of one merchant and status;
    ``after`` is the (merchant, product id) of the last one seen."""
    filters = [{"term": {k: v}} for k, v in (("merchant_id", merchant_id), ("status", status)) if v is not None]
    body: dict[str, Any] = {
        "size": size,
        "query": {"bool": {"filter": filters}},
        "sort": [{"merchant_id": "asc"}, {"product_id": "asc"}],
        "_source": {"excludes": ["*_vector"]},
    }
    if after is not None:
        body["search_after"] = list(after)
    with translated_errors("listing products"):
        return [hit["_source"] for hit in client.search(index=index, body=body)["hits"]["hits"]]


def list_tags(client: OpenSearch, index: str, merchant_id: str, attributes: Sequence[str], size: int) -> list[dict]:
    """The ``size`` least sure tags of ``merchant_id``'s products, over ``attributes``: per tag the
    product's id and title, the attribute and the tag (value, confidence, input, tagger). One
    search per attribute in one round trip, each its least sure first."""
    lines: list[dict[str, Any]] = []
    for name in attributes:
        query = {
            "bool": {"filter": [{"term": {"merchant_id": merchant_id}}, {"exists": {"field": f"tags.{name}.value"}}]}
        }
        sort = [{f"tags.{name}.confidence": "asc"}, {"product_id": "asc"}]
        lines += [
            {"index": index},
            {"size": size, "query": query, "sort": sort, "_source": ["product_id", "title", f"tags.{name}"]},
        ]
    if not lines:
        return []
    with translated_errors("listing tags"):
        responses = client.msearch(body=lines)["responses"]
    rows = []
    for name, response in zip(attributes, responses, strict=True):
        if "error" in response:
            raise BackendError(f"listing {name} tags failed: {response['error']}")
        for hit in response["hits"]["hits"]:
            source = hit["_source"]
            rows.append(
                {
                    "product_id": source["product_id"],
                    "title": source.get("title", ""),
                    "attribute": name,
                    **source["tags"][name],
                }
            )
    return sorted(rows, key=lambda row: (row["confidence"], row["product_id"], row["attribute"]))[:size]


def resolve_refs(client: OpenSearch, index: str, refs: Collection[str]) -> dict[str, str | None]:
    """The document id each product reference names ("<merchant>/<id>" names itself; an id alone names
    the one product that carries it), or None when an id alone is carried by several merchants'
    products. References to nothing are left out."""
    named = {ref for ref in refs if "/" in ref}
    bare = sorted(set(refs) - named)
    found: dict[str, str | None] = {}
    if named:
        docs = mget_found(client, index, sorted(named), {"_source": "false"}, "reading products")
        found |= {doc["_id"]: doc["_id"] for doc in docs}
    if bare:
        body = {
            "size": 0,
            "query": {"terms": {"product_id": bare}},
            "aggs": {
                "ids": {
                    "terms": {"field": "product_id", "size": len(bare)},
                    "aggs": {"merchants": {"terms": {"field": "merchant_id", "size": 2}}},
                }
            },
        }
        with translated_errors("resolving product ids"):
            buckets = client.search(index=index, body=body)["aggregations"]["ids"]["buckets"]
        for bucket in buckets:
            merchants = bucket["merchants"]["buckets"]
            found[bucket["key"]] = doc_id(merchants[0]["key"], bucket["key"]) if len(merchants) == 1 else None
    return found


def resolve_named(client: OpenSearch, index: str, named: Sequence[tuple[str, str]]) -> list[str]:
    """The document ids of (request field, product reference) pairs, in order; InvalidInputError
    naming the field of the first reference to no product, or to an id several merchants use."""
    found = resolve_refs(client, index, {ref for _, ref in named})
    for field, ref in named:
        if ref not in found:
            raise InvalidInputError(field, f"no product {ref!r} in the catalog")
        if found[ref] is None:
            raise InvalidInputError(field, f"several merchants have a product {ref!r}: name it <merchant>/{ref}")
    return [found[ref] or "" for _, ref in named]


def iter_product_ids(
    client: OpenSearch,
    index: str,
    merchant_id: str | None = None,
    status: str | None = None,
    updated_before: datetime | None = None,
) -> Iterator[str]:
    """Every matching product id, streamed with a point-in-time-free scroll."""
    filters: list[dict[str, Any]] = [
        {"term": {k: v}} for k, v in (("merchant_id", merchant_id), ("status", status)) if v is not None
    ]
    if updated_before is not None:
        filters.append({"range": {"updated_at": {"lt": updated_before.isoformat()}}})
    query = {"query": {"bool": {"filter": filters}}, "_source": False}
    with translated_errors("scanning product ids"):
        for hit in helpers.scan(client, index=index, query=query, size=1000):
            yield hit["_id"]


def iter_stored(client: OpenSearch, index: str, fields: Sequence[str]) -> Iterator[StoredProduct]:
    """Every product of ``index`` with ``fields`` of its source and the sequence number a guarded
    update needs, streamed."""
    body = {"query": {"match_all": {}}, "_source": list(fields), "seq_no_primary_term": True}
    with translated_errors(f"scanning {index}"):
        for hit in helpers.scan(client, index=index, query=body, size=1000):
            yield StoredProduct(hit["_id"], hit.get("_source", {}), hit["_seq_no"], hit["_primary_term"])


def stale_pending_ids(client: OpenSearch, index: str, older_than_s: float) -> list[str]:
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    return list(iter_product_ids(client, index, status="pending", updated_before=cutoff))


def iter_source_batches(
    client: OpenSearch, index: str, query: dict[str, Any], size: int = 500
) -> Iterator[list[dict[str, Any]]]:
    """The whole stored documents (vectors included) matching ``query``, streamed in batches of ``size``."""
    batch: list[dict[str, Any]] = []
    with translated_errors(f"scanning {index}"):
        for hit in helpers.scan(client, index=index, query={"query": query}, size=size):
            batch.append(hit["_source"])
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def read_vectors(
    client: OpenSearch,
    index: str,
    fields: Sequence[str],
    ids: Sequence[str] | None = None,
    query: dict[str, Any] | None = None,
    ready_only: bool = False,
) -> dict[str, dict[str, Any]]:
    """``fields`` of the products ``ids`` (or of all matching ``query``), keyed by id."""
    filters: list[dict[str, Any]] = [query] if query else []
    if ids is not None:
        filters.append({"ids": {"values": list(ids)}})
    if ready_only:
        filters.append({"term": {"status": "ready"}})
    body = {"query": {"bool": {"filter": filters}}, "_source": list(fields)}
    with translated_errors(f"reading {', '.join(fields)}"):
        return {hit["_id"]: hit["_source"] for hit in helpers.scan(client, index=index, query=body, size=500)}


def update_fields(client: OpenSearch, index: str, partials: dict[str, dict[str, Any]]) -> None:
    """Partial updates by id (fields a job owns, such as behaviour vectors)."""
    actions = [{"_op_type": "update", "_index": index, "_id": pid, "doc": doc} for pid, doc in partials.items()]
    with translated_errors(f"updating {len(actions)} products"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False, chunk_size=500)
    if errors:
        raise BackendError(f"{len(errors)} of {len(actions)} product updates failed: {errors[0]}")


def touch_pending(client: OpenSearch, index: str, ids: Sequence[str]) -> None:
    """Mark pending products as re-queued now, so the reconciler does not queue them again at once."""
    now = datetime.now(UTC).isoformat()
    actions = [{"_op_type": "update", "_index": index, "_id": pid, "doc": {"updated_at": now}} for pid in ids]
    with translated_errors("touching pending products"):
        helpers.bulk(client, actions, raise_on_error=False)


def status_counts(client: OpenSearch, index: str, merchant_id: str | None = None) -> dict[str, int]:
    filters = [{"term": {"merchant_id": merchant_id}}] if merchant_id else []
    body = {
        "size": 0,
        "query": {"bool": {"filter": filters}},
        "aggs": {"status": {"terms": {"field": "status", "size": 10}}},
    }
    with translated_errors("counting products by status"):
        response = client.search(index=index, body=body)
    return {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["status"]["buckets"]}


def recently_ready(client: OpenSearch, index: str, seconds: float) -> int:
    """Products of ``index`` that became ready in the last ``seconds`` (the embedding rate)."""
    body = {
        "query": {
            "bool": {
                "filter": [{"term": {"status": "ready"}}, {"range": {"updated_at": {"gte": f"now-{int(seconds)}s"}}}]
            }
        }
    }
    with translated_errors("counting recently embedded products"):
        return int(client.count(index=index, body=body)["count"])


def refresh(client: OpenSearch, index: str) -> None:
    with translated_errors(f"refreshing {index}"):
        client.indices.refresh(index=index)

"""Merchant uploads (and answers to the taggers): validate everything, store photos, write pending
documents, then enqueue.

Nothing is written unless every product and photo of the upload is valid; the pending document is
written before its task is queued, so a product is never lost between upload and index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from hybrid_search.core.catalog import ProductIn, TagReview, doc_id, product_document
from hybrid_search.core.errors import ConflictError, InvalidInputError, NotFoundError
from hybrid_search.core.photos import MAX_PHOTO_BYTES, PhotoStore, check_url, is_url, open_image
from hybrid_search.core.schema import SPECS, SPECS_TEXT, CatalogSchema
from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.catalog_schema import current_schema
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.indices import alias_targets, building_indices, index_schema
from hybrid_search.stores.opensearch.products import StoredProduct, get_products, update_guarded, write_documents

Enqueue = Callable[[list[str], str], None]
"""Queues embedding of product ids in a physical index (the Celery task, in production)."""


def enqueue_in_batches(ids: list[str], index: str, batch_size: int, enqueue: Enqueue) -> int:
    """Queue ``ids`` for embedding in ``index``, one task per ``batch_size`` ids; returns how many."""
    for start in range(0, len(ids), batch_size):
        enqueue(ids[start : start + batch_size], index)
    return len(ids)


@dataclass
class Submission:
    accepted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    indices: list[str] = field(default_factory=list)


def write_targets(client: OpenSearchClient, settings: Settings) -> list[str]:
    """Where new documents go: the live index, and the index being built for the alias, if one is."""
    targets = alias_targets(client, settings.products_alias)
    if not targets:
        raise ConflictError(f"alias {settings.products_alias} points at no index; run `hybrid-search init-indices`")
    return targets + building_indices(client, settings.products_alias)


def read_photo(product: ProductIn, field: str, photos: Mapping[str, bytes], import_dir: Path | None) -> bytes:
    """The photo ``product.image`` names: an uploaded part of that name, else a file under ``import_dir``."""
    name = product.image or ""
    if name in photos:
        data = photos[name]
    elif import_dir is None:
        raise InvalidInputError(field, f"no uploaded photo named {name!r} (and no import folder is configured)")
    else:
        # the name is checked, not where it leads: links the operator put in the folder (an images/
        # folder linked from elsewhere) are followed, a name cannot climb out of it
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or "\\" in name:
            raise InvalidInputError(field, "photo paths must stay inside the import folder")
        path = import_dir / relative
        if not path.is_file():
            raise InvalidInputError(field, f"no file {name!r} in the import folder")
        if path.stat().st_size > MAX_PHOTO_BYTES:
            raise InvalidInputError(field, f"photo is larger than {MAX_PHOTO_BYTES} bytes")
        data = path.read_bytes()
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError(field, f"photo is larger than {MAX_PHOTO_BYTES} bytes")
    return data


def check_photos(
    products: Sequence[ProductIn],
    photos: Mapping[str, bytes],
    settings: Settings,
    field_prefix: str = "products",
    keep: bool = True,
) -> dict[str, bytes]:
    """Every photo ``products`` name, read and decoded, so that a bad one stops an upload before
    anything is written: product id -> its bytes (none kept without ``keep``, for a check of a whole
    catalog). A URL is checked for its form only; a worker fetches it. InvalidInputError names
    ``<field_prefix>[i].image``."""
    found: dict[str, bytes] = {}
    for i, product in enumerate(products):
        if product.image:
            field_name = f"{field_prefix}[{i}].image"
            if product.image not in photos and is_url(product.image):
                check_url(product.image, field_name)  # a worker fetches it (indexing/photo_urls.py)
                continue
            data = read_photo(product, field_name, photos, settings.import_dir)
            open_image(data, settings.max_image_pixels, field_name)  # rejects non-images and bombs
            if keep:
                found[product.product_id] = data
    return found


def _hash(stored: StoredProduct | None) -> str | None:
    return stored.source.get("content_hash") if stored else None


def submit_products(
    client: OpenSearchClient,
    settings: Settings,
    merchant_id: str,
    products: Sequence[ProductIn],
    photos: Mapping[str, bytes],
    enqueue: Enqueue,
) -> Submission:
    """Validate the catalog schema's fields and the photos, then write pending documents to every
    target index and queue them in batches (by document id: a merchant's products are its own,
    whatever ids other merchants use)."""
    schema = current_schema(client, settings.products_alias)
    products = [schema.with_understood(p, f"products[{i}]") for i, p in enumerate(products)]
    specs = [schema.specs(p.attributes, f"products[{i}]") for i, p in enumerate(products)]
    photo_bytes = check_photos(products, photos, settings)
    targets = write_targets(client, settings)
    store = PhotoStore(settings.photo_root)
    docs = {
        doc_id(merchant_id, p.product_id): product_document(
            p,
            merchant_id,
            store.put(photo_bytes[p.product_id]) if p.product_id in photo_bytes else None,
            typed,
            schema.search_text(typed),
        )
        for p, typed in zip(products, specs, strict=True)
    }
    submission = Submission(indices=targets)
    accepted: set[str] = set()
    for index in targets:
        typed_docs = docs if index == targets[0] else _typed_for(client, index, docs, schema)
        stored = get_products(client, index, list(docs))
        # Same id and content hash as stored: same vectors, nothing to write or queue.
        changed = [key for key, doc in docs.items() if _hash(stored.get(key)) != doc["content_hash"]]
        write_documents(client, index, [typed_docs[key] for key in changed])
        enqueue_in_batches(changed, index, settings.embed_batch_size, enqueue)
        accepted.update(docs[key]["product_id"] for key in changed)
    ids = [p.product_id for p in products]
    submission.accepted = [pid for pid in ids if pid in accepted]
    submission.unchanged = [pid for pid in ids if pid not in accepted]
    return submission


def _typed_for(
    client: OpenSearchClient, index: str, docs: dict[str, dict[str, Any]], live: CatalogSchema
) -> dict[str, dict[str, Any]]:
    """``docs`` as the index being built types them, where it records other field types than the
    live index (a schema version that changed a type is being copied there): each product's declared
    fields typed again by its schema, a value not of its type left out, as the copy leaves it out."""
    own = index_schema(client, index)
    if own is None or own.mapping_version == live.mapping_version:
        return docs
    out = {}
    for key, doc in docs.items():
        specs, _ = own.typed_specs(doc.get("attributes") or {})
        retyped = {k: v for k, v in doc.items() if k not in (SPECS, SPECS_TEXT)}
        if specs:
            retyped[SPECS] = specs
        if text := own.search_text(specs):
            retyped[SPECS_TEXT] = text
        out[key] = retyped
    return out


def apply_reviews(
    client: OpenSearchClient, settings: Settings, merchant_id: str, reviews: Sequence[TagReview], enqueue: Enqueue
) -> list[str]:
    """A merchant's answers to the taggers: each value becomes the product's own (its tag goes), and
    the product is embedded again (its text vector is made with its values). Every product is
    checked before any is written; returns the products changed. A later upload of the product from
    the merchant's feed is the product as the feed has it (without the value unless the feed adds it)."""
    keys = [doc_id(merchant_id, review.product_id) for review in reviews]
    targets = write_targets(client, settings)
    live = get_products(client, targets[0], keys)
    for i, (review, key) in enumerate(zip(reviews, keys, strict=True)):
        if key not in live:
            raise NotFoundError(f"product {review.product_id!r} not found", field=f"body[{i}].product_id")
    now = datetime.now(UTC).isoformat()
    changes: dict[str, dict[str, Any]] = {}
    for review, key in zip(reviews, keys, strict=True):
        change = changes.setdefault(key, {"tags": {}})
        change[review.attribute] = review.value
        change["tags"][review.attribute] = None
    for index in targets:
        stored = get_products(client, index, list(changes))
        updates = [
            (
                stored[key],
                {
                    **change,
                    "status": "pending",
                    "status_reason": None,
                    "content_hash": None,  # the feed's next upload of it is a change
                    "text_vector": None,  # made again with the value
                    "fused_vector": None,
                    "updated_at": now,
                },
            )
            for key, change in changes.items()
            if key in stored
        ]
        update_guarded(client, index, updates)
        enqueue_in_batches([key for key in changes if key in stored], index, settings.embed_batch_size, enqueue)
    return sorted({review.product_id for review in reviews})

"""Merchant API: upload products and photos (which triggers embedding), read, list, delete, reindex;
review the taggers' values (``/tags``)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.routing import BaseConverter

from hybrid_search.api.auth import caller_merchant
from hybrid_search.api.bodies import json_object, parse_json
from hybrid_search.core.catalog import (
    PRODUCT_ID_PATTERN,
    PRODUCT_REF_PATTERN,
    STATUSES,
    TAGGED,
    TagReview,
    doc_id,
    merchant_id,
    parse_model,
    parse_products,
    split_doc_id,
)
from hybrid_search.core.errors import InvalidInputError, NotFoundError
from hybrid_search.indexing.ingest import apply_reviews, submit_products, write_targets
from hybrid_search.queue import REINDEX, enqueue_embedding
from hybrid_search.stores.opensearch.products import delete_products, get_product, list_products, list_tags
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.services import Services

MAX_DELETES = 1000  # product ids one bulk delete takes
MAX_REVIEWS = 1000  # answers to the taggers one request takes

products = Blueprint("products", __name__)


class ProductIdConverter(BaseConverter):
    """Product ids as catalog.PRODUCT_ID_PATTERN allows; ``/products/_search`` is left to the passthrough."""

    regex = PRODUCT_ID_PATTERN.strip("^$")


def _services() -> Services:
    return current_app.extensions["hybrid_search"]


def _rows_from_text(text: str, field: str) -> list[Any]:
    """A JSON array, a {"products": [...]} object, or NDJSON."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError(field, "empty")
    if stripped.startswith("[") or stripped.startswith("{") and "\n" not in stripped:
        data = parse_json(stripped, field)
        return data["products"] if isinstance(data, dict) and "products" in data else data
    return [parse_json(line, f"{field}[{i}]") for i, line in enumerate(stripped.splitlines()) if line.strip()]


def _rows_from_csv(text: str) -> list[dict[str, str]]:
    """A CSV file with a header row; empty cells are left out (the field's default applies)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InvalidInputError("products", "empty CSV")
    return [{k: v for k, v in row.items() if k and v not in (None, "")} for row in reader]


def _photos(files: Any, skip: str | None) -> dict[str, bytes]:
    """Every file part but ``skip``, by part name and by file name."""
    photos: dict[str, bytes] = {}
    for name, upload in files.items(multi=True):
        if name == skip:
            continue
        data = upload.read()
        photos[name] = data
        if upload.filename:
            photos.setdefault(upload.filename, data)
    return photos


def _upload() -> tuple[list[Any], dict[str, bytes]]:
    """Product rows and photo bytes from a JSON, NDJSON or multipart request (whose ``products`` may
    be a field, or a JSON, NDJSON or CSV file)."""
    if request.mimetype == "multipart/form-data":
        rows_text, skip, is_csv = request.form.get("products"), None, False
        products_file = request.files.get("products")
        if rows_text is None and products_file is not None:
            rows_text, skip = products_file.read().decode("utf-8", errors="replace"), "products"
            is_csv = (products_file.filename or "").lower().endswith(".csv")
        if rows_text is None:
            raise InvalidInputError("products", "multipart upload needs a 'products' field or file")
        rows = _rows_from_csv(rows_text) if is_csv else _rows_from_text(rows_text, "products")
        return rows, _photos(request.files, skip)
    if request.mimetype in ("application/json", "application/x-ndjson", "application/jsonl"):
        rows = _rows_from_text(request.get_data(as_text=True), "body")
        if not isinstance(rows, list):
            raise InvalidInputError("body", 'must be a JSON array of products, {"products": [...]}, or NDJSON')
        return rows, {}
    raise InvalidInputError("Content-Type", "use application/json, application/x-ndjson or multipart/form-data")


@products.post("/products")
def upload_products() -> tuple[Response, int]:
    return jsonify(accept_upload(_merchant("uploads for"))), 202


def accept_upload(merchant: str) -> dict[str, Any]:
    """Write and queue the request's products for ``merchant`` (also the console's upload)."""
    rows, photos = _upload()
    parsed = parse_products(rows)
    services = _services()
    queue = current_app.extensions["hybrid_search.queue"]
    submission = submit_products(
        services.opensearch, services.settings, merchant, parsed, photos, enqueue_embedding(queue)
    )
    TrainingState(services.redis, services.settings.products_alias).note_changes(len(submission.accepted))
    return {
        "merchant": merchant,
        "accepted": submission.accepted,
        "unchanged": submission.unchanged,
        "status": url_for("products.list_merchant_products", merchant=merchant, status="pending"),
    }


@products.get("/products/<product_id:product_id>")
def get_one(product_id: str) -> Response:
    services = _services()
    try:
        doc = get_product(
            services.opensearch,
            services.settings.products_alias,
            doc_id(_merchant("reads a product of"), product_id),
            with_vectors=request.args.get("vectors") == "true",
        )
    except NotFoundError:
        raise _not_found(product_id) from None
    return jsonify(doc)


def _merchant(what: str) -> str:
    """The caller's merchant: a merchant key's own, or the admin's ``?merchant=``."""
    merchant = caller_merchant()
    if merchant is None:
        merchant = request.args.get("merchant") or ""
        if not merchant:
            raise InvalidInputError("merchant", f"the admin key {what} ?merchant=<id>")
        return merchant_id(merchant)
    if request.args.get("merchant") not in (None, merchant):
        raise InvalidInputError("merchant", "a merchant key reaches its own products only")
    return merchant


def _not_found(product_id: str) -> NotFoundError:
    """The same answer whether no merchant has ``product_id`` or another merchant has it."""
    return NotFoundError(f"product {product_id!r} not found", field="product_id")


@products.get("/products")
def list_merchant_products() -> Response:
    merchant = caller_merchant()
    if merchant is None:
        merchant = merchant_id(request.args["merchant"]) if request.args.get("merchant") else None
    elif request.args.get("merchant") not in (None, merchant):
        raise InvalidInputError("merchant", "a merchant key reaches its own products only")
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInputError("status", f"must be one of {', '.join(STATUSES)}")
    size = _int_arg("size", 50, 1, 1000)
    services = _services()
    after = _after(merchant)
    items = list_products(services.opensearch, services.settings.products_alias, merchant, status, size, after)
    page: dict[str, Any] = {"products": items}
    if len(items) == size:
        last = items[-1]
        page["next"] = url_for(
            "products.list_merchant_products",
            merchant=merchant,
            status=status,
            size=size,
            after=last["product_id"] if merchant else doc_id(last["merchant_id"], last["product_id"]),
        )
    return jsonify(page)


def _after(merchant: str | None) -> tuple[str, str] | None:
    """The listing cursor: a product id within one merchant, "<merchant>/<product id>" across all."""
    after = request.args.get("after")
    if after is None:
        return None
    if merchant is not None:
        if not re.fullmatch(PRODUCT_ID_PATTERN, after):
            raise InvalidInputError("after", "must be a product id")
        return merchant, after
    owner, product = split_doc_id(after)
    if owner is None or not re.fullmatch(PRODUCT_REF_PATTERN, after):
        raise InvalidInputError("after", "across merchants, must be <merchant>/<product id>")
    return owner, product


@products.delete("/products/<product_id:product_id>")
def delete_one(product_id: str) -> tuple[str, int]:
    remove_product(_merchant("deletes a product of"), product_id)
    return "", 204


@products.post("/products/delete")
def delete_many() -> tuple[Response, int]:
    """Delete up to MAX_DELETES of the caller's products at once: ``{"product_ids": [...]}``; the
    answer lists those deleted and those not found (neither is an error for the others)."""
    merchant = _merchant("deletes products of")
    ids = json_object().get("product_ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_DELETES:
        raise InvalidInputError("product_ids", f"must be a list of 1 to {MAX_DELETES} product ids")
    for i, product_id in enumerate(ids):
        if not isinstance(product_id, str) or not re.fullmatch(PRODUCT_ID_PATTERN, product_id):
            raise InvalidInputError(f"product_ids[{i}]", "must be a product id")
    asked = list(dict.fromkeys(ids))
    deleted = remove_products(merchant, asked)
    gone = set(deleted)
    return jsonify({"deleted": deleted, "not_found": [p for p in asked if p not in gone]}), 200


def remove_product(merchant: str, product_id: str) -> None:
    """Delete a merchant's product (also the console's delete); a NotFoundError if it has none."""
    if not remove_products(merchant, [product_id]):
        raise _not_found(product_id)


def remove_products(merchant: str, product_ids: list[str]) -> list[str]:
    """Delete a merchant's products from the live index and the one being built; the ids that the
    live index held."""
    services = _services()
    targets = write_targets(services.opensearch, services.settings)
    keys = [doc_id(merchant, product_id) for product_id in product_ids]
    deleted = set(delete_products(services.opensearch, targets[0], keys))
    for index in targets[1:]:  # what was not copied into the index being built yet is not there
        delete_products(services.opensearch, index, keys)
    return [product_id for product_id, key in zip(product_ids, keys, strict=True) if key in deleted]


@products.post("/products/reindex")
def reindex() -> tuple[Response, int]:
    """Re-embed the caller's products (the admin key: all of them, or a new model version)."""
    merchant = caller_merchant()
    return jsonify({"task_id": queue_reindex(merchant), "merchant": merchant}), 202


def queue_reindex(merchant: str | None) -> str:
    """Queue re-embedding of ``merchant``'s products (None: all); the task's id."""
    return current_app.extensions["hybrid_search.queue"].send_task(REINDEX, args=[merchant]).id


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(name, "must be a whole number") from None
    if not low <= value <= high:
        raise InvalidInputError(name, f"must be between {low} and {high}")
    return value


@products.get("/tags")
def review_queue() -> Response:
    """The merchant's products' tags (the taggers' values where a product lacks its own), least sure
    first: what to review. ``attribute`` narrows to one, ``size`` (50, at most 1000)."""
    merchant = _merchant("reviews the tags of")
    asked = request.args.get("attribute")
    if asked is not None and asked not in TAGGED:
        raise InvalidInputError("attribute", f"must be one of {', '.join(TAGGED)}")
    attributes = [asked] if asked else list(TAGGED)
    return jsonify({"tags": tags_to_review(merchant, attributes, _int_arg("size", 50, 1, 1000))})


@products.post("/tags")
def review_tags() -> tuple[Response, int]:
    """A merchant's answers: ``[{"product_id", "attribute", "value"}]``, the tag's value accepted or
    corrected. Each becomes the product's own value (a label for the next training run) and the
    product is embedded again; all are checked before any is written."""
    merchant = _merchant("reviews the tags of")
    changed = accept_reviews(merchant, parse_json(request.get_data(as_text=True), "body"))
    return jsonify({"merchant": merchant, "accepted": changed}), 202


def accept_reviews(merchant: str, body: Any) -> list[str]:
    """Check ``merchant``'s answers to the taggers whole, then apply them (also the console's)."""
    if not isinstance(body, list) or not body:
        raise InvalidInputError("body", "must be a list of {product_id, attribute, value}")
    if len(body) > MAX_REVIEWS:
        raise InvalidInputError("body", f"at most {MAX_REVIEWS} answers in one request")
    reviews = [parse_model(TagReview, item, f"body[{i}].") for i, item in enumerate(body)]
    services = _services()
    queue = current_app.extensions["hybrid_search.queue"]
    changed = apply_reviews(services.opensearch, services.settings, merchant, reviews, enqueue_embedding(queue))
    TrainingState(services.redis, services.settings.products_alias).note_changes(len(changed))
    return changed


def tags_to_review(merchant: str, attributes: list[str], size: int) -> list[dict[str, Any]]:
    """The merchant's ``size`` least sure tags over ``attributes`` (also the console's)."""
    services = _services()
    return list_tags(services.opensearch, services.settings.products_alias, merchant, attributes, size)

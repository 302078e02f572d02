"""The merchants' page: upload a catalog file with photos, watch each product's status, reindex, delete,
and review the taggers' values (least sure first)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, redirect, request, url_for

from hybrid_search.api.auth import caller_merchant
from hybrid_search.api.console import console
from hybrid_search.api.console.keys import page
from hybrid_search.api.products import accept_reviews, accept_upload, queue_reindex, remove_product, tags_to_review
from hybrid_search.core.catalog import TAGGED
from hybrid_search.core.errors import HybridSearchError, UnauthorisedError
from hybrid_search.stores.opensearch.products import list_products, refresh

REVIEWED = 50  # tags the page lists, least sure first


@console.get("/merchant")
def merchant_page() -> tuple[str, int]:
    """Upload a catalog file with photos, watch each product's status, reindex, delete."""
    merchant = _merchant_key("the merchant page")
    services = current_app.extensions["hybrid_search"]
    refresh(services.opensearch, services.settings.products_alias)  # an upload just made is listed (pending)
    return page(
        "console/merchant.html",
        merchant=merchant,
        products=_products(merchant),
        tags=tags_to_review(merchant, list(TAGGED), REVIEWED),
        notice=request.args.get("notice"),
    )


@console.get("/merchant/status")
def merchant_status() -> Response:
    """Each product's status and reason, for the page's live update."""
    merchant = _merchant_key("the merchant page")
    statuses = {
        p["product_id"]: {"status": p.get("status"), "reason": p.get("status_reason")} for p in _products(merchant)
    }
    return jsonify(statuses)


@console.post("/merchant/upload")
def merchant_upload() -> Response | tuple[str, int]:
    merchant = _merchant_key("uploading")
    try:
        done = accept_upload(merchant)
    except HybridSearchError as exc:
        return page("console/merchant.html", exc, merchant=merchant, products=_products(merchant))
    notice = f"{len(done['accepted'])} accepted, {len(done['unchanged'])} unchanged"
    return redirect(url_for("console.merchant_page", notice=notice))


@console.post("/merchant/tags")
def merchant_review() -> Response | tuple[str, int]:
    """One answer to a tag: its value as it is (accepted) or as the merchant corrected it."""
    merchant = _merchant_key("reviewing tags")
    answer = {name: request.form.get(name, "") for name in ("product_id", "attribute", "value")}
    try:
        accept_reviews(merchant, [answer])
    except HybridSearchError as exc:
        tags = tags_to_review(merchant, list(TAGGED), REVIEWED)
        return page("console/merchant.html", exc, merchant=merchant, products=_products(merchant), tags=tags)
    notice = f"{answer['product_id']}: {answer['attribute']} is {answer['value']}"
    return redirect(url_for("console.merchant_page", notice=notice))


@console.post("/merchant/delete/<product_id:product_id>")
def merchant_delete(product_id: str) -> Response:
    remove_product(_merchant_key("deleting"), product_id)
    return redirect(url_for("console.merchant_page", notice=f"{product_id} deleted"))


@console.post("/merchant/reindex")
def merchant_reindex() -> Response:
    task = queue_reindex(_merchant_key("reindexing"))
    return redirect(url_for("console.merchant_page", notice=f"reindex queued (task {task})"))


def _products(merchant: str) -> list[dict[str, Any]]:
    """The merchant's products the page lists (the first 200)."""
    services = current_app.extensions["hybrid_search"]
    return list_products(services.opensearch, services.settings.products_alias, merchant, None, 200, None)


def _merchant_key(what: str) -> str:
    """The merchant of the console's key; a 401 (the page then asks for a key) for any other key."""
    merchant = caller_merchant()
    if merchant is None:  # the admin key: the console's merchant page is one merchant's
        raise UnauthorisedError(f"{what} needs a merchant key")
    return merchant

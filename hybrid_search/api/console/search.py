"""The web console under /ui: server-rendered pages over the same services, keys and errors as the
API. The search page needs no key; what names a user needs a client key, as in the API."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from hybrid_search.api.auth import KEY_COOKIE, caller_merchant
from hybrid_search.api.errors import status_for
from hybrid_search.api.products import accept_upload, queue_reindex, remove_product
from hybrid_search.api.search import request_fields, search_for_caller
from hybrid_search.errors import HybridSearchError, NotFoundError, UnauthorisedError
from hybrid_search.opensearch.products import list_products, refresh
from hybrid_search.photos import PhotoStore

console = Blueprint("console", __name__, url_prefix="/ui", template_folder="templates", static_folder="static")
FACETS = ("article_type", "colour", "gender", "usage")
WINDOW = 50  # results the facet counts are taken over (the smallest fusion window of the default profile)
PAGE = 24


def facet_counts(hits: list[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """Per facet field, each value's count among ``hits``, most common first."""
    return {
        field: Counter(h["product"].get(field) for h in hits if h["product"].get(field)).most_common(12)
        for field in FACETS
    }


def bars(explain: dict[str, Any]) -> list[dict[str, Any]]:
    """Each leg's part of the combined score (normalised × weight, as the arithmetic blend adds them),
    as a share of the largest part, for drawing."""
    parts = []
    for leg, detail in explain["legs"].items():
        value = detail["normalised"] * detail["weight"] if detail.get("found") else 0.0
        parts.append({"leg": leg, "value": value, **detail})
    top = max((p["value"] for p in parts), default=0.0) or 1.0
    for part in parts:
        part["width"] = round(100 * part["value"] / top, 1)
    return parts


@console.get("")
def home() -> Response:
    return redirect(url_for("console.search_page"))


@console.route("/search", methods=["GET", "POST"])
def search_page() -> tuple[str, int]:
    fields, photo = request_fields()
    asked = {k: v for k, v in fields.items() if v not in (None, "", [])}
    result, error, status = None, None, 200
    if asked.get("q") or asked.get("like") or photo:
        try:
            result = search_for_caller({**asked, "size": WINDOW, "explain": "true"}, photo)
        except HybridSearchError as exc:
            error, status = exc, status_for(exc)
    hits = result["hits"] if result else []
    for hit in hits:
        hit["bars"] = bars(hit["explain"])
    if result and result["personalised"]:  # how the user's profile moved each product
        anonymous = search_for_caller({**asked, "user_id": None, "size": WINDOW}, photo)
        before = {h["id"]: rank for rank, h in enumerate(anonymous["hits"])}
        for rank, hit in enumerate(hits):
            hit["moved"] = before[hit["id"]] - rank if hit["id"] in before else None
    context = {
        "fields": asked,
        "result": result,
        "hits": hits[:PAGE],
        "facets": facet_counts(hits),
        "error": error,
        "status": status,
        "photo_query": photo is not None,
    }
    return render_template("console/search.html", **context), status


@console.get("/photos/<digest>")
def photo(digest: str) -> Response:
    """A product photo from the photo store (content-addressed, so cached for good)."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise NotFoundError(f"photo {digest} is not in the store")
    data = PhotoStore(current_app.extensions["hybrid_search"].settings.photo_root).get(digest)
    response = Response(data, mimetype=photo_type(data))
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response


def photo_type(data: bytes) -> str:
    """The media type of stored photo bytes, from their magic number."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"GIF8":
        return "image/gif"
    return "image/jpeg"


@console.post("/key")
def set_key() -> Response:
    """Keep the key typed into the console in an HttpOnly, same-site cookie (empty: forget it)."""
    target = request.form.get("next", "")
    if not target.startswith("/ui") or target.startswith("//"):  # back to a console page, never elsewhere
        target = url_for("console.search_page")
    response = redirect(target)
    key = request.form.get("key", "").strip()
    if key:
        response.set_cookie(KEY_COOKIE, key, httponly=True, samesite="Strict", secure=request.is_secure)
    else:
        response.delete_cookie(KEY_COOKIE)
    return response


def _merchant_or_none() -> str | None:
    """The merchant of the console's key; None without a merchant key (the page then asks for one)."""
    try:
        return caller_merchant()
    except UnauthorisedError:
        return None


@console.get("/merchant")
def merchant_page() -> tuple[str, int]:
    """Upload a catalog file with photos, watch each product's status, reindex, delete."""
    merchant = _merchant_or_none()
    if merchant is None:
        return render_template("console/key.html", needs="a merchant key"), 401
    services = current_app.extensions["hybrid_search"]
    refresh(services.opensearch, services.settings.products_alias)  # an upload just made is listed (pending)
    items = list_products(services.opensearch, services.settings.products_alias, merchant, None, 200, None)
    return render_template(
        "console/merchant.html", merchant=merchant, products=items, notice=request.args.get("notice")
    ), 200


@console.get("/merchant/status")
def merchant_status() -> Response:
    """Each product's status and reason, for the page's live update."""
    merchant = _merchant_key("the merchant page")
    services = current_app.extensions["hybrid_search"]
    items = list_products(services.opensearch, services.settings.products_alias, merchant, None, 200, None)
    return jsonify({p["product_id"]: {"status": p.get("status"), "reason": p.get("status_reason")} for p in items})


@console.post("/merchant/upload")
def merchant_upload() -> Response | tuple[str, int]:
    merchant = _merchant_key("uploading")
    try:
        done = accept_upload(merchant)
    except HybridSearchError as exc:
        services = current_app.extensions["hybrid_search"]
        items = list_products(services.opensearch, services.settings.products_alias, merchant, None, 200, None)
        page = render_template(
            "console/merchant.html", merchant=merchant, products=items, error=exc, status=status_for(exc)
        )
        return page, status_for(exc)
    notice = f"{len(done['accepted'])} accepted, {len(done['unchanged'])} unchanged"
    return redirect(url_for("console.merchant_page", notice=notice))


@console.post("/merchant/delete/<product_id:product_id>")
def merchant_delete(product_id: str) -> Response:
    remove_product(_merchant_key("deleting"), product_id)
    return redirect(url_for("console.merchant_page", notice=f"{product_id} deleted"))


@console.post("/merchant/reindex")
def merchant_reindex() -> Response:
    task = queue_reindex(_merchant_key("reindexing"))
    return redirect(url_for("console.merchant_page", notice=f"reindex queued (task {task})"))


def _merchant_key(what: str) -> str:
    merchant = caller_merchant()
    if merchant is None:  # the admin key: the console's merchant page is one merchant's
        raise UnauthorisedError(f"{what} from the console needs a merchant key")
    return merchant

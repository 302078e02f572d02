"""The search page: no key needed; what names a user needs a client key, as in the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, current_app, redirect, url_for

from hybrid_search.api.console import console
from hybrid_search.api.console.keys import page
from hybrid_search.api.search import request_fields, search_for_caller, search_service
from hybrid_search.core.catalog import whole
from hybrid_search.core.errors import HybridSearchError
from hybrid_search.core.schema import SYSTEM_FILTERS, CatalogSchema
from hybrid_search.stores.redis.query_photos import QueryPhotos
from hybrid_search.stores.services import Services

FACETS = 6  # the catalog schema's first facet fields the page shows
PAGE = 24
COMPARED = 100  # the shopper's anonymous ranking a personalised page is compared with (/search's largest page)
FACET_VALUES = 12


def facet_fields(schema: CatalogSchema) -> list[str]:
    """The facets the page shows: the catalog schema's (the merchant is not a shopper's facet)."""
    return [name for name in schema.facets if name not in SYSTEM_FILTERS][:FACETS]


def facet_counts(result: dict[str, Any] | None, fields: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """Per facet field, its most common values over the search's match set (what /search counts)."""
    facets = result.get("facets", {}) if result else {}
    return {field: [(f["value"], f["count"]) for f in facets.get(field, [])[:FACET_VALUES]] for field in fields}


def link_fields(asked: dict[str, Any]) -> dict[str, Any]:
    """The page's fields as its links and its form carry them: ``filter`` as ``filter[<field>]`` keys."""
    flat = {key: value for key, value in asked.items() if key != "filter"}
    return flat | {f"filter[{name}]": values for name, values in (asked.get("filter") or {}).items()}


def shown_attributes(product: dict[str, Any]) -> list[tuple[str, bool]]:
    """A hit's article type, colour and gender as the card shows them: the merchant's value, or the
    tagger's (marked as predicted) where the product lacks one; '' where it has neither."""
    tags = product.get("tags") or {}
    return [
        (product[name], False) if product.get(name) else ((tags.get(name) or {}).get("value", ""), bool(tags.get(name)))
        for name in ("article_type", "colour", "gender")
    ]


def bars(explain: dict[str, Any]) -> list[dict[str, Any]]:
    """Each leg's part of the score, as a share of the largest part, for drawing: under the learned
    ranker its SHAP contribution (which may be negative), else normalised × weight (as the arithmetic
    blend adds them)."""
    learned = explain.get("learned")
    parts = []
    for leg, detail in explain["legs"].items():
        if learned is not None:
            value = learned["by_leg"].get(leg, 0.0)
        else:
            value = detail["normalised"] * detail["weight"] if detail.get("found") else 0.0
        parts.append({"leg": leg, "value": value, **detail})
    top = max((abs(p["value"]) for p in parts), default=0.0) or 1.0
    for part in parts:
        part["width"] = round(100 * abs(part["value"]) / top, 1)
    return parts


def moves(before: list[str], after: list[str], offset: int = 0) -> list[int | None]:
    """For each id of ``after`` (a page starting at rank ``offset``), how many places it rose since
    the ranking ``before`` (negative: fell; None: not in it)."""
    ranks = {item: rank for rank, item in enumerate(before)}
    return [ranks[item] - rank if item in ranks else None for rank, item in enumerate(after, offset)]


def pages(result: dict[str, Any] | None, size: int) -> int:
    """How many pages of ``size`` the search serves: the products it ranks (the blend's window)."""
    return -(-result["ranked"] // size) if result else 0


@console.get("")
def home() -> Response:
    return redirect(url_for("console.search_page"))


@console.route("/search", methods=["GET", "POST"])
def search_page() -> tuple[str, int]:
    """A page of PAGE results, its facets and pages; a photo searched is kept for the page links."""
    fields, photo = request_fields()
    asked = {k: v for k, v in fields.items() if v not in (None, "", [], {})}
    shown_facets = facet_fields(search_service().understanding.schema.current())
    result, error = None, None
    try:
        photo, photo_ref = _photo(photo, asked.pop("photo_ref", None))
        number = whole(asked.pop("page", 1), "page")
        if asked.get("q") or asked.get("like") or photo:
            shown = {**asked, "page": number, "size": PAGE, "explain": "true", "facets": shown_facets}
            result = search_for_caller(shown, photo).to_json()
    except HybridSearchError as exc:
        error, photo_ref, number = exc, None, 1
    hits = result["hits"] if result else []
    for hit in hits:
        hit["bars"] = bars(hit["explain"])
        hit["attributes"] = shown_attributes(hit["product"])
    if result and result["personalised"]:  # how the user's profile moved each product
        anonymous = search_for_caller({**asked, "user_id": None, "size": COMPARED}, photo)
        before = anonymous.ids()
        for hit, moved in zip(hits, moves(before, [h["id"] for h in hits], (number - 1) * PAGE), strict=True):
            hit["moved"] = moved
    return page(
        "console/search.html",
        error,
        fields=link_fields(asked) | ({"photo_ref": photo_ref} if photo_ref else {}),
        result=result,
        hits=hits,
        number=number,
        pages=pages(result, PAGE),
        facets=facet_counts(result, shown_facets),
        photo_query=photo is not None,
    )


def _photo(uploaded: bytes | None, ref: str | None) -> tuple[bytes | None, str | None]:
    """The photo searched, uploaded now or named by a page link (``photo_ref``), and its reference."""
    if uploaded is None and ref is None:
        return None, None
    services: Services = current_app.extensions["hybrid_search"]
    kept = QueryPhotos(services.redis, services.settings.products_alias)
    if uploaded is not None:
        return uploaded, kept.keep(uploaded)
    return kept.get(ref), ref

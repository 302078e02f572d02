"""The search page: no key needed; what names a user needs a client key, as in the API."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, url_for

from hybrid_search.api.console import console
from hybrid_search.api.console.keys import page
from hybrid_search.api.search import request_fields, search_for_caller
from hybrid_search.errors import HybridSearchError

FACETS = ("article_type", "colour", "gender", "usage")
WINDOW = 50  # results explained and compared with the shopper's anonymous ranking
PAGE = 24
FACET_VALUES = 12


def facet_counts(result: dict[str, Any] | None) -> dict[str, list[tuple[str, int]]]:
    """Per facet field, its most common values over the search's match set (what /search counts)."""
    facets = result.get("facets", {}) if result else {}
    return {field: [(f["value"], f["count"]) for f in facets.get(field, [])[:FACET_VALUES]] for field in FACETS}


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


def moves(before: list[str], after: list[str]) -> list[int | None]:
    """For each id of ``after``, how many places it rose since ``before`` (negative: fell; None: new)."""
    ranks = {item: rank for rank, item in enumerate(before)}
    return [ranks[item] - rank if item in ranks else None for rank, item in enumerate(after)]


@console.get("")
def home() -> Response:
    return redirect(url_for("console.search_page"))


@console.route("/search", methods=["GET", "POST"])
def search_page() -> tuple[str, int]:
    fields, photo = request_fields()
    asked = {k: v for k, v in fields.items() if v not in (None, "", [])}
    result, error = None, None
    if asked.get("q") or asked.get("like") or photo:
        try:
            result = search_for_caller({**asked, "size": WINDOW, "explain": "true", "facets": FACETS}, photo)
        except HybridSearchError as exc:
            error = exc
    hits = result["hits"] if result else []
    for hit in hits:
        hit["bars"] = bars(hit["explain"])
    if result and result["personalised"]:  # how the user's profile moved each product
        anonymous = search_for_caller({**asked, "user_id": None, "size": WINDOW}, photo)
        for hit, moved in zip(hits, moves([h["id"] for h in anonymous["hits"]], [h["id"] for h in hits]), strict=True):
            hit["moved"] = moved
    return page(
        "console/search.html",
        error,
        fields=asked,
        result=result,
        hits=hits[:PAGE],
        facets=facet_counts(result),
        photo_query=photo is not None,
    )

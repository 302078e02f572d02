"""Implicit judgments from behaviour: clicks over expected clicks (COEC), as OpenSearch's Search
Relevance Workbench computes them from UBI events.

A shopper clicks what is shown high more often whatever it is (position bias). COEC divides a
product's clicks for a query by the clicks an average product would have had in the positions it
was shown at: ``COEC(q, d) = clicks(q, d) / sum over its impressions of CTR(position)``, with
``CTR(p)`` the click-through rate of position ``p`` over every query. 1 is "as clicked as its
positions predict"; a product shown and never clicked rates 0. A prior of expected clicks shrinks
thin evidence towards 1. Pure functions, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shown:
    """One product shown in one served result list (``search``, the query_id) for ``query``."""

    query: str
    search: str
    doc: str
    position: int
    clicked: bool


def shown_from_events(events: Iterable[Mapping[str, Any]]) -> list[Shown]:
    """Pair UBI ``impression`` and ``click`` events by (query_id, product): a product is shown at its
    impression's position, and clicked if any click names it in the same search. A click without an
    impression counts as shown at the click's position. Events need ``user_query`` (the text the
    search was for), ``query_id``, the product and its ``position.ordinal``; others are skipped."""
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        attributes = event.get("event_attributes") or {}
        doc = (attributes.get("object") or {}).get("object_id")
        position = (attributes.get("position") or {}).get("ordinal")
        search, query, action = event.get("query_id"), event.get("user_query"), event.get("action_name")
        if not (doc and search and query) or action not in ("impression", "click"):
            continue
        seen = shown.setdefault((search, doc), {"query": query, "position": None, "clicked": False})
        if action == "impression" and position is not None:
            seen["position"] = int(position)
        elif action == "click":
            seen["clicked"] = True
            if seen["position"] is None and position is not None:
                seen["position"] = int(position)
    return [
        Shown(s["query"], search, doc, s["position"], s["clicked"])
        for (search, doc), s in sorted(shown.items())
        if s["position"] is not None
    ]


def position_ctr(shown: Iterable[Shown]) -> dict[int, float]:
    """Click-through rate of each position, over every query."""
    impressions: dict[int, int] = defaultdict(int)
    clicks: dict[int, int] = defaultdict(int)
    for s in shown:
        impressions[s.position] += 1
        clicks[s.position] += s.clicked
    return {p: clicks[p] / n for p, n in impressions.items()}


def coec(shown: Iterable[Shown], min_impressions: int = 1, prior: float = 1.0) -> dict[str, dict[str, float]]:
    """COEC of every (query, product) shown at least ``min_impressions`` times, by query text,
    shrunk towards 1 (the average product) by ``prior`` expected clicks of evidence:
    ``(clicks + prior) / (expected + prior)``, the posterior mean of a Gamma-Poisson click rate.

    With ``prior`` 0 it is the plain ratio, which one lucky click deep down the page (where few are
    expected) makes enormous, nDCG's 2^rating gain then following that one click; and a product
    shown once far down and not clicked rates 0 as surely as one never clicked in a hundred views
    at the top. With the prior, thin evidence either way stays near 1 and only much evidence moves
    a rating far from it."""
    rows = list(shown)
    ctr = position_ctr(rows)
    expected: dict[tuple[str, str], float] = defaultdict(float)
    clicks: dict[tuple[str, str], int] = defaultdict(int)
    impressions: dict[tuple[str, str], int] = defaultdict(int)
    for s in rows:
        key = (s.query, s.doc)
        expected[key] += ctr[s.position]
        clicks[key] += s.clicked
        impressions[key] += 1
    ratings: dict[str, dict[str, float]] = defaultdict(dict)
    for (query, doc), n in impressions.items():
        if n >= min_impressions:
            denominator = expected[(query, doc)] + prior
            ratings[query][doc] = (clicks[(query, doc)] + prior) / denominator if denominator else 0.0
    return dict(ratings)


def judgment_list(ratings: Mapping[str, Mapping[str, float]], name: str) -> dict[str, Any]:
    """``ratings`` as a Search Relevance Workbench judgment list (what ``PUT
    _plugins/_search_relevance/judgments`` takes, and what ``eval``/``tune`` read from a ``.json``)."""
    return {
        "name": name,
        "type": "IMPLICIT",
        "description": "COEC click model over UBI impression and click events",
        "judgmentRatings": [
            {"query": query, "ratings": [{"docId": doc, "rating": round(r, 4)} for doc, r in sorted(docs.items())]}
            for query, docs in sorted(ratings.items())
        ],
    }

"""Facet values as the merchant spells them. The attribute keyword fields fold case and accents (the
``lowercase`` normaliser), so a filter on ``Black`` finds ``black`` and ``BLACK``; a terms aggregation
over them answers the folded value (``tshirts``). Each such field keeps the merchant's spelling in a
``raw`` sub-field: ``with_spelling`` asks every terms aggregation over a folded field for its buckets'
most common spelling, ``respelled`` puts it in the bucket's key and drops the question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybrid_search.core.catalog import TAGGED

# each folded keyword field, and its sub-field with the value as it was sent
SPELLED = {
    "article_type": "article_type.raw",
    "colour": "colour.raw",
    "gender": "gender.raw",
    "usage": "usage.raw",
    "season": "season.raw",
    "brand.keyword": "brand.raw",
    **{f"tags.{name}.value": f"tags.{name}.value.raw" for name in TAGGED},
}
SPELLING = "spelling@hybrid_search"  # the sub-aggregation's name ('@' is in no name a storefront would pick)
SUB = ("aggs", "aggregations")


def with_spelling(aggs: Mapping[str, Any]) -> dict[str, Any]:
    """``aggs`` with a spelling sub-aggregation under each terms aggregation over a folded field, at
    any depth; the rest as it was."""
    out: dict[str, Any] = {}
    for name, agg in aggs.items():
        agg = dict(agg)
        for sub in SUB:
            if isinstance(agg.get(sub), Mapping):
                agg[sub] = with_spelling(agg[sub])
        terms = agg.get("terms")
        if isinstance(terms, Mapping) and terms.get("field") in SPELLED:
            spelling = {"terms": {"field": SPELLED[terms["field"]], "size": 1}}
            subs = next((sub for sub in SUB if sub in agg), "aggs")
            agg[subs] = {**agg.get(subs, {}), SPELLING: spelling}
        out[name] = agg
    return out


def respelled(aggregations: Any) -> Any:
    """An aggregations answer (``with_spelling``'s) with each bucket keyed by its most common
    spelling, the spelling sub-aggregation removed (a value longer than the raw field keeps, or a
    ``missing`` bucket, keeps the folded key). Changes ``aggregations`` in place and returns it."""
    stack = [aggregations]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for name in [key for key in node if key == SPELLING or key.endswith(f"#{SPELLING}")]:  # typed_keys
            buckets = node.pop(name).get("buckets", [])
            if buckets:
                node["key"] = buckets[0]["key"]
        stack.extend(value for value in node.values() if isinstance(value, dict | list))
    return aggregations

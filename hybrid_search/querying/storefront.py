"""What a storefront's search counts beside its page (pure): the match set behind ``total`` (every word
typed, and each vector leg's nearest), the storefront's own query and aggregations, and /search's
facets (a merchant's values and, where asked, the taggers')."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hybrid_search.core.catalog import TAGGED
from hybrid_search.querying.legs import LEGS_BY_NAME, QueryInputs
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.queries import build_all_words_query
from hybrid_search.stores.opensearch.search import MatchSet

VECTOR_LEGS = ("text", "fused", "image")  # the legs whose matches are their nearest k
FACET, FACET_VALUES = "facet:", 50  # /search's facet aggregations: their name prefix, values each
TAGS = ":tags"  # the suffix of a facet's aggregation over the taggers' values
VOTER_LEGS = ("fused", "image")  # a photo's voters: their nearest products count in its match set too


@dataclass(frozen=True)
class Storefront:
    """What a storefront's own search body adds to a blended search (the read path checks it first):
    ``where``, its query, which every leg applies as a filter; ``aggs``, its aggregations, computed
    over the search's match set (``opensearch.search.MatchSet``), whose count is then the ``total``;
    ``post_filter``, as OpenSearch applies one: to the hits and the total, not the aggregations."""

    where: dict[str, Any] | None = None
    aggs: dict[str, Any] | None = None
    post_filter: dict[str, Any] | None = None

    @property
    def leg_filter(self) -> dict[str, Any] | None:
        """What every leg filters on: the storefront's query and its post_filter."""
        clauses = [c for c in (self.where, self.post_filter) if c is not None]
        return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}} if clauses else None


def match_set_queries(
    inputs: QueryInputs, filters: dict[str, Any], profile: BlendProfile, voting: bool = False
) -> list[dict[str, Any]]:
    """What a search matched, for its ``total`` and facets: the products that hold every word the
    shopper typed (``build_all_words_query``; the BM25 leg ranks a product with any of them, and the
    attribute leg every product of an asked colour), and the nearest ``window`` of each vector leg
    the blend ranks, or that votes a photo's attributes (its nearest products, where a profile ranks
    a photo by its attributes leg alone)."""
    words = [build_all_words_query(inputs.typed, filters, inputs.text_fields)] if inputs.typed else []
    vectors = [
        LEGS_BY_NAME[leg].query(inputs, filters, profile.window, profile.attribute_weights)
        for leg in VECTOR_LEGS
        if profile.weight(leg) > 0 or (voting and leg in VOTER_LEGS)
    ]
    return words + [query for query in vectors if query is not None]


def with_facets(storefront: Storefront | None, facets: Mapping[str, str], predicted: bool) -> Storefront | None:
    """``storefront`` with /search's ``facets`` (name -> the field it counts: ``CatalogSchema.facet_paths``)
    counted beside its own aggregations (None: nothing to count); with ``predicted``, a tagged
    attribute's tags are counted too (``facet_counts`` adds them up)."""
    if not facets:
        return storefront
    where, aggs = (storefront.where, storefront.aggs or {}) if storefront is not None else (None, {})
    counted = {f"{FACET}{name}": {"terms": {"field": path, "size": FACET_VALUES}} for name, path in facets.items()}
    if predicted:
        tagged = {name: path for name, path in facets.items() if path in TAGGED}
        counted |= {
            f"{FACET}{name}{TAGS}": {"terms": {"field": f"tags.{path}.value", "size": FACET_VALUES}}
            for name, path in tagged.items()
        }
    return Storefront(where, aggs | counted)


def facet_counts(names: tuple[str, ...], aggregations: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values, most products first, spelled as the merchants spell them; a product
    that lacks the value counts under its tag where tags were counted (it has one or the other)."""
    out = {}
    for name in names:
        counts: Counter[str] = Counter()
        for key in (f"{FACET}{name}", f"{FACET}{name}{TAGS}"):
            for bucket in aggregations.get(key, {}).get("buckets", []):
                counts[bucket.get("key_as_string", bucket["key"])] += bucket["doc_count"]  # a boolean's "true"
        out[name] = [{"value": value, "count": n} for value, n in counts.most_common(FACET_VALUES)]
    return out


def storefront_aggregations(matched: MatchSet) -> dict[str, Any]:
    """The match set's aggregations a storefront asked for (not the /search facets beside them)."""
    return {name: value for name, value in matched.aggregations.items() if not name.startswith(FACET)}

"""OpenSearch's own ``hybrid`` query (the neural-search plugin): every leg and the blend in one round trip.

Pure builders and parsers. A profile runs natively only where a 2.19 processor computes exactly
what ``ranking.combine`` does: ``normalization-processor`` with min_max or l2 and a weighted
arithmetic (missing leg = 0), geometric or harmonic (missing leg skipped) mean, or
``score-ranker-processor`` RRF, which takes no weights and an integer rank constant in 2.19.
The pipeline travels in the request body (a temporary search pipeline), so there is nothing to
create, version or clean up per profile.

Explained searches run natively only without min_max: neural-search's explain step writes the
normalised scores back into the hits, then normalisation runs again on them, so every min_max
score OpenSearch returns with explain on is normalised twice ((x - 0.001) / 0.999 of the right one).
l2 of unit-length scores and RRF of ranks come out unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hybrid_search.core.errors import BackendError
from hybrid_search.ranking.combine import MISSING_IN_OPENSEARCH, Combination, Combined, LegScore
from hybrid_search.ranking.normalise import Normalisation
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.queries import ID_FIELDS, doc_id_of, named

MAX_SUB_QUERIES = 5
NORMALISATIONS = {Normalisation.MIN_MAX: "min_max", Normalisation.L2: "l2"}
MEANS = {
    Combination.ARITHMETIC: "arithmetic_mean",
    Combination.GEOMETRIC: "geometric_mean",
    Combination.HARMONIC: "harmonic_mean",
}


@dataclass(frozen=True)
class NativeBlend:
    """The search pipeline for a profile's blend, or why OpenSearch cannot compute that blend."""

    pipeline: dict[str, Any] | None
    reason: str = ""
    score_scale: float = 1.0  # RRF: the profile's common leg weight, which OpenSearch's RRF leaves out


def native_blend(profile: BlendProfile, legs: Sequence[str], explain: bool = False) -> NativeBlend:
    """The temporary search pipeline that blends ``legs`` (sub-query order) exactly as ``profile`` does."""
    if not 1 <= len(legs) <= MAX_SUB_QUERIES:
        return NativeBlend(None, f"the hybrid query takes 1 to {MAX_SUB_QUERIES} sub-queries, not {len(legs)}")
    weights = [profile.weight(leg) for leg in legs]
    if profile.combination is Combination.RRF:
        if len(set(weights)) > 1:
            return NativeBlend(None, "score-ranker-processor (2.19) takes no leg weights")
        if not float(profile.rank_constant).is_integer():
            return NativeBlend(None, "score-ranker-processor takes an integer rank constant")
        combination = {"technique": "rrf", "rank_constant": int(profile.rank_constant)}
        ranker = {"score-ranker-processor": {"combination": combination}}
        return NativeBlend({"phase_results_processors": [ranker]}, score_scale=weights[0])
    if profile.normalisation not in NORMALISATIONS:
        return NativeBlend(None, f"normalization-processor (2.19) has no {profile.normalisation} normalisation")
    if explain and profile.normalisation is Normalisation.MIN_MAX:
        return NativeBlend(None, "OpenSearch 2.19 normalises min_max scores twice when it explains them")
    if MISSING_IN_OPENSEARCH[profile.combination] is not profile.missing:
        return NativeBlend(
            None,
            f"OpenSearch's {profile.combination} mean counts a leg that missed a document as "
            f"{MISSING_IN_OPENSEARCH[profile.combination]}, the profile as {profile.missing}",
        )
    total = sum(weights)
    processor = {
        "normalization": {"technique": NORMALISATIONS[profile.normalisation]},
        "combination": {
            "technique": MEANS[profile.combination],
            "parameters": {"weights": [w / total for w in weights]},
        },
    }
    return NativeBlend({"phase_results_processors": [{"normalization-processor": processor}]})


def build_hybrid_body(
    queries: Mapping[str, dict[str, Any]],
    pipeline: dict[str, Any],
    window: int,
    start: int,
    size: int,
    source_excludes: Sequence[str] | None,
    explain: bool = False,
) -> dict[str, Any]:
    """One ``hybrid`` query over the legs' clauses (each named after its leg), each leg's ``window``
    best hits blended by ``pipeline``, hits ``start`` to ``start + size`` returned: with their
    sources but ``source_excludes``, or ids alone (from doc values) when that is None."""
    if explain:
        pipeline = {**pipeline, "response_processors": [{"hybrid_score_explanation": {}}]}
    body: dict[str, Any] = {
        "from": start,
        "size": size,
        "query": {
            "hybrid": {
                "pagination_depth": window,
                "queries": [named(query, leg) for leg, query in queries.items()],
            }
        },
        "search_pipeline": pipeline,
    }
    if source_excludes is None:
        body |= {"_source": False, "stored_fields": "_none_", "docvalue_fields": list(ID_FIELDS)}
    else:
        body["_source"] = {"excludes": list(source_excludes)}
    return body


def hybrid_hit(hit: Mapping[str, Any], legs: Sequence[str], score_scale: float = 1.0) -> Combined:
    """A blended hit; with explain on, each leg's raw score (from the named sub-queries it matched)
    and normalised score (from ``hybrid_score_explanation``, whose details follow the sub-queries
    the document matched, in order). A leg that matched the document outside its window has a
    normalised score of 0 there: it did not find the document, as in the in-process blend."""
    doc_id = hit.get("_id") or doc_id_of({name: found[0] for name, found in hit["fields"].items()})
    scores: dict[str, LegScore] = {}
    matched = hit.get("matched_queries")
    if isinstance(matched, dict) and "_explanation" in hit:
        order = [leg for leg in legs if leg in matched]
        details = hit["_explanation"]["details"]
        if len(order) != len(details):
            raise BackendError(f"the hybrid explanation of {doc_id} has {len(details)} details for the legs {order}")
        for leg, detail in zip(order, details, strict=True):
            if detail["value"] > 0:
                scores[leg] = LegScore(float(matched[leg]), None, float(detail["value"]))
    return Combined(doc_id, float(hit["_score"]) * score_scale, scores)

import pytest

from hybrid_search.core.errors import BackendError
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch.hybrid import build_hybrid_body, hybrid_hit, native_blend
from hybrid_search.stores.opensearch.queries import build_bm25_query, build_filters, build_knn_query

LEGS = ["bm25", "text", "attributes"]
WEIGHTS = {"bm25": 0.3, "text": 0.5, "fused": 0.0, "image": 0.0, "attributes": 3.0}


def test_a_weighted_mean_becomes_a_normalization_processor_with_weights_summing_to_one():
    native = native_blend(BlendProfile(normalisation="l2", weights=WEIGHTS), LEGS)
    (processor,) = native.pipeline["phase_results_processors"]
    config = processor["normalization-processor"]
    assert config["normalization"] == {"technique": "l2"}
    assert config["combination"]["technique"] == "arithmetic_mean"
    assert config["combination"]["parameters"]["weights"] == pytest.approx([0.3 / 3.8, 0.5 / 3.8, 3.0 / 3.8])
    assert native.reason == "" and native.score_scale == 1.0


@pytest.mark.parametrize(
    ("changes", "technique"),
    [
        ({"combination": "geometric", "missing": "skip"}, "geometric_mean"),
        ({"combination": "harmonic", "missing": "skip"}, "harmonic_mean"),
    ],
)
def test_geometric_and_harmonic_means_skip_a_missing_leg_in_opensearch(changes, technique):
    native = native_blend(BlendProfile(weights=WEIGHTS, **changes), LEGS)
    assert (
        native.pipeline["phase_results_processors"][0]["normalization-processor"]["combination"]["technique"]
        == technique
    )
    zero = native_blend(BlendProfile(weights=WEIGHTS, combination=changes["combination"], missing="zero"), LEGS)
    assert zero.pipeline is None and "counts a leg that missed a document as skip" in zero.reason


def test_rrf_runs_natively_only_with_equal_weights_and_an_integer_constant():
    equal = native_blend(
        BlendProfile(combination="rrf", rank_constant=60, weights={"bm25": 0.5, "text": 0.5}), ["bm25", "text"]
    )
    ranker = equal.pipeline["phase_results_processors"][0]["score-ranker-processor"]
    assert ranker == {"combination": {"technique": "rrf", "rank_constant": 60}}
    assert equal.score_scale == 0.5  # OpenSearch sums 1 / (k + rank); the profile weighs each term 0.5
    weighted = native_blend(BlendProfile(combination="rrf", weights={"bm25": 0.4, "text": 0.6}), ["bm25", "text"])
    assert weighted.pipeline is None and "no leg weights" in weighted.reason
    fractional = native_blend(BlendProfile(combination="rrf", rank_constant=60.5, weights={"bm25": 1.0}), ["bm25"])
    assert fractional.pipeline is None and "integer" in fractional.reason


def test_what_opensearch_2_19_cannot_compute_says_why():
    assert "no z_score" in native_blend(BlendProfile(normalisation="z_score", weights=WEIGHTS), LEGS).reason
    skip = native_blend(BlendProfile(missing="skip", weights=WEIGHTS), LEGS)
    assert skip.pipeline is None and "as zero, the profile as skip" in skip.reason
    assert "1 to 5 sub-queries, not 0" in native_blend(BlendProfile(), []).reason


def test_explained_min_max_scores_are_not_opensearch_s_to_compute():
    min_max = native_blend(BlendProfile(weights=WEIGHTS), LEGS, explain=True)
    assert min_max.pipeline is None and "normalises min_max scores twice" in min_max.reason
    assert native_blend(BlendProfile(weights=WEIGHTS), LEGS).pipeline is not None
    assert native_blend(BlendProfile(normalisation="l2", weights=WEIGHTS), LEGS, explain=True).pipeline is not None
    rrf = BlendProfile(combination="rrf", weights={"bm25": 1.0, "text": 1.0})
    assert native_blend(rrf, ["bm25", "text"], explain=True).pipeline is not None


def test_the_hybrid_body_names_each_leg_and_blends_the_profile_window():
    filters = build_filters({"gender": ["Men"]})
    queries = {"bm25": build_bm25_query("shoes", filters), "text": build_knn_query("text_vector", [1, 0], 200, filters)}
    pipeline = {"phase_results_processors": []}
    body = build_hybrid_body(queries, pipeline, 200, 10, 10, ["text_vector"])
    hybrid = body["query"]["hybrid"]
    assert hybrid["pagination_depth"] == 200 and (body["from"], body["size"]) == (10, 10)
    assert [q.get("bool", {}).get("_name") or q["knn"]["text_vector"]["_name"] for q in hybrid["queries"]] == [
        "bm25",
        "text",
    ]
    assert body["search_pipeline"] == pipeline and body["_source"] == {"excludes": ["text_vector"]}
    ids_only = build_hybrid_body(queries, pipeline, 200, 0, 50, None, explain=True)
    assert ids_only["_source"] is False and ids_only["docvalue_fields"] == ["merchant_id", "product_id"]
    assert ids_only["search_pipeline"]["response_processors"] == [{"hybrid_score_explanation": {}}]
    assert pipeline == {"phase_results_processors": []}  # not changed in place


def _explained(details, matched):
    return {
        "_id": "p1",
        "_score": 0.7,
        "matched_queries": matched,
        "_explanation": {"value": 0.7, "details": [{"value": v, "details": []} for v in details]},
    }


def test_explained_hits_map_each_detail_to_the_leg_it_belongs_to():
    # bm25 missed the document, text and attributes found it: the details follow the matched sub-queries
    hit = hybrid_hit(_explained([0.9, 0.25], {"text": 0.93, "attributes": 3.0}), LEGS)
    assert hit.doc_id == "p1" and hit.score == 0.7
    assert set(hit.legs) == {"text", "attributes"}
    assert (hit.legs["text"].raw, hit.legs["text"].normalised) == (0.93, 0.9)
    assert (hit.legs["attributes"].raw, hit.legs["attributes"].normalised, hit.legs["attributes"].rank) == (
        3.0,
        0.25,
        None,
    )


def test_a_leg_that_matched_outside_its_window_did_not_find_the_document():
    hit = hybrid_hit(_explained([0.0, 0.5], {"bm25": 1.2, "text": 0.8}), LEGS)
    assert set(hit.legs) == {"text"}


def test_unexplained_and_id_only_hits():
    hit = hybrid_hit({"_score": 0.02, "fields": {"merchant_id": ["m1"], "product_id": ["p9"]}}, LEGS, score_scale=0.5)
    assert (hit.doc_id, hit.score, hit.legs) == ("m1/p9", 0.01, {})
    with pytest.raises(BackendError, match="details"):
        hybrid_hit(_explained([0.9], {"text": 0.93, "attributes": 3.0}), LEGS)

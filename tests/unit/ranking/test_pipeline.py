from hybrid_search.ranking.combine import Combined
from hybrid_search.ranking.pipeline import blend, choose_profile, page_of, rerank_head
from hybrid_search.ranking.profiles import BlendProfile

ZH = BlendProfile(weights={"attributes": 2.0, "text": 0.2})
PHOTO_ATTRIBUTES_ONLY = BlendProfile(weights={"attributes": 3.0})
STORED = BlendProfile(
    weights={"bm25": 0.3, "text": 0.5, "attributes": 3.0}, classes={"zh": ZH, "photo": PHOTO_ATTRIBUTES_ONLY}
)


def test_the_class_override_when_it_has_a_leg_that_can_run():
    assert choose_profile(STORED, "zh", {"bm25", "text", "fused", "attributes"}) is ZH
    assert choose_profile(STORED, "short", {"bm25", "text", "fused"}) is STORED


def test_the_whole_profile_when_the_override_has_nothing_to_run():
    assert choose_profile(STORED, "zh", {"bm25"}) is STORED


def test_without_attribute_heads_an_attributes_only_choice_falls_back_to_the_plain_blend():
    chosen = choose_profile(STORED, "photo", {"fused", "image"})
    assert chosen == BlendProfile()
    assert chosen.weight("image") > 0 and chosen.weight("fused") > 0


def test_no_leg_at_all_leaves_the_override_for_the_caller_to_reject():
    no_attributes = BlendProfile(weights={"bm25": 1.0}, classes={"photo": BlendProfile(weights={"bm25": 1.0})})
    assert choose_profile(no_attributes, "photo", {"fused", "image"}) is no_attributes.classes["photo"]


def test_blend_uses_the_profile_window_and_its_weighted_legs_only():
    legs = {"bm25": [(f"b{i}", 10.0 - i) for i in range(20)], "image": [("x", 1.0)]}
    profile = BlendProfile(weights={"bm25": 1.0, "image": 0.0}, window=10)
    blended = blend(legs, profile)
    assert [c.doc_id for c in blended] == [f"b{i}" for i in range(10)]
    assert all(set(c.legs) == {"bm25"} for c in blended)


def test_rerank_moves_only_the_head_and_pages_slice_the_result():
    profile = BlendProfile(rerank_depth=2, rerank_weight=1.0)
    blended = [Combined(d, s) for d, s in (("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6))]
    boosts = {"b": 0.5, "d": 5.0}
    ranked = rerank_head(blended, boosts, profile, personalise=True)
    assert [r.hit.doc_id for r in ranked] == ["b", "a", "c", "d"]  # d lies past the rerank depth
    assert [r.hit.doc_id for r in rerank_head(blended, boosts, profile, personalise=False)] == ["a", "b", "c", "d"]
    assert [r.hit.doc_id for r in page_of(ranked, 2, 2)] == ["c", "d"]
    assert page_of(ranked, 3, 2) == []

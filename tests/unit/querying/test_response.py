from hybrid_search.querying.response import Hit, SearchResult, Timings


def result(**extra) -> SearchResult:
    hits = [Hit("p1", "shop", 0.9, {"title": "Black backpack"}), Hit("p2", "", 0.5, {}, explain={"engine": "x"})]
    return SearchResult(
        query_id="q",
        profile="default",
        profile_version=3,
        query_class="short",
        engine="learned",
        page=1,
        size=2,
        total=40,
        ranked=30,
        personalised=False,
        legs=["bm25", "text"],
        timings=Timings(encode=1.0, search=2.0, page=3.0, total=6.5),
        hits=hits,
        **extra,
    )


def test_a_result_is_served_as_the_json_search_answered_before_it_was_typed():
    out = result().to_json()
    assert out["profile"] == {"name": "default", "version": 3, "query_class": "short"}
    assert out["engine"] == {"name": "learned"}
    assert out["timings_ms"] == {"encode": 1.0, "search": 2.0, "page": 3.0, "total": 6.5}
    assert out["hits"][0] == {"id": "p1", "merchant": "shop", "score": 0.9, "product": {"title": "Black backpack"}}
    assert out["hits"][1]["explain"] == {"engine": "x"} and "explain" not in out["hits"][0]
    # what a search did not ask for is left out, not sent empty
    assert not {"sort", "facets", "aggregations", "intent", "degraded"} & out.keys()


def test_what_a_search_asked_for_or_left_out_is_in_its_json():
    out = result(why="no neural-search", facets={"colour": []}, degraded={"personalisation": "Redis down"}).to_json()
    assert out["engine"] == {"name": "learned", "why": "no neural-search"}
    assert out["facets"] == {"colour": []} and out["degraded"] == {"personalisation": "Redis down"}
    assert result().ids() == ["p1", "p2"]

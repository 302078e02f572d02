from hybrid_search.api.console.search import (
    bars,
    facet_counts,
    facet_fields,
    link_fields,
    moves,
    pages,
    shown_attributes,
)
from hybrid_search.core.schema import CatalogSchema, fashion_schema


def test_moves_count_places_risen_since_the_page_before():
    assert moves(["a", "b", "c"], ["c", "a", "x", "b"]) == [2, -1, None, -2]
    assert moves([], ["a"]) == [None]
    assert moves(["a", "b", "c", "d"], ["d", "b"], offset=2) == [1, -2]  # a second page, ranks 2 and 3


def test_pages_cover_what_the_search_ranks():
    assert pages({"ranked": 100}, 24) == 5 and pages({"ranked": 96}, 24) == 4 and pages({"ranked": 0}, 24) == 0
    assert pages(None, 24) == 0


def test_facets_are_the_searchs_match_set_counts_at_most_twelve_values_each():
    colours = [{"value": f"c{i}", "count": 20 - i} for i in range(15)]
    fields = ["colour", "gender", "usage"]
    counts = facet_counts({"facets": {"colour": colours, "gender": [{"value": "Men", "count": 4}]}}, fields)
    assert counts["colour"] == [(f"c{i}", 20 - i) for i in range(12)] and counts["gender"] == [("Men", 4)]
    assert counts["usage"] == [] and facet_counts(None, fields)["colour"] == []


def test_the_page_shows_the_catalog_schemas_facets_and_links_carry_its_filters():
    assert facet_fields(fashion_schema()) == ["article_type", "colour", "gender", "usage", "category"]
    shop = CatalogSchema.parse({"name": "s", "fields": {"material": {"type": "keyword", "facet": True}}})
    assert facet_fields(shop) == ["material"]
    asked = {"q": "table", "filter": {"material": ["oak"]}, "colour": ["Black"]}
    assert link_fields(asked) == {"q": "table", "colour": ["Black"], "filter[material]": ["oak"]}


def test_bars_are_each_legs_part_as_a_share_of_the_largest():
    explain = {
        "legs": {
            "bm25": {"found": True, "raw": 12.0, "normalised": 0.5, "weight": 0.4},
            "text": {"found": True, "raw": 0.8, "normalised": 1.0, "weight": 0.4},
            "image": {"found": False, "weight": 1.0},
        }
    }
    drawn = {bar["leg"]: (round(bar["value"], 3), bar["width"]) for bar in bars(explain)}
    assert drawn == {"bm25": (0.2, 50.0), "text": (0.4, 100.0), "image": (0.0, 0.0)}


def test_under_the_learned_ranker_bars_are_each_legs_shap_share_negative_ones_too():
    explain = {
        "legs": {
            "bm25": {"found": True, "raw": 12.0, "normalised": 0.5, "weight": 0.4},
            "attributes": {"found": True, "raw": 3.0, "normalised": 0.2, "weight": 3.0},
            "image": {"found": False, "weight": 0.0},
        },
        "learned": {"by_leg": {"bm25": 2.0, "attributes": -0.5}},
    }
    drawn = {bar["leg"]: (bar["value"], bar["width"]) for bar in bars(explain)}
    assert drawn == {"bm25": (2.0, 100.0), "attributes": (-0.5, 25.0), "image": (0.0, 0.0)}


def test_a_card_shows_the_taggers_value_marked_where_the_merchant_gave_none():
    product = {"article_type": "Backpacks", "tags": {"colour": {"value": "Black", "confidence": 0.9}}}
    assert shown_attributes(product) == [("Backpacks", False), ("Black", True), ("", False)]

"""The pure parts of the search service: what explain reads of a product."""


def test_explain_names_the_values_a_product_has_by_its_tags():
    from hybrid_search.querying.service import predicted_values

    product = {
        "colour": "Red",
        "tags": {"colour": {"value": "Black", "confidence": 0.8}, "usage": {"value": "Casual", "confidence": 0.95}},
    }
    assert predicted_values(product) == {"usage": {"value": "Casual", "confidence": 0.95}}  # the merchant's colour wins
    assert predicted_values({"colour": "Red"}) == {} and predicted_values({"tags": {"season": None}}) == {}

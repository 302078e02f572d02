"""The pure parts of the search service: what explain and a photo's vote read of a product."""


def test_explain_names_the_values_a_product_has_by_its_tags():
    from hybrid_search.querying.service import predicted_values

    product = {
        "colour": "Red",
        "tags": {"colour": {"value": "Black", "confidence": 0.8}, "usage": {"value": "Casual", "confidence": 0.95}},
    }
    assert predicted_values(product) == {"usage": {"value": "Casual", "confidence": 0.95}}  # the merchant's colour wins
    assert predicted_values({"colour": "Red"}) == {} and predicted_values({"tags": {"season": None}}) == {}


def test_a_photos_look_alike_votes_by_its_tags_where_its_merchant_gave_no_value():
    from hybrid_search.querying.service import voter_values

    fields = {"colour": "red", "tags.colour.value": "black", "tags.article_type.value": "tshirts", "gender": ""}
    assert voter_values(fields) == {"colour": "red", "article_type": "tshirts"}  # the merchant's colour wins
    assert voter_values({}) == {}

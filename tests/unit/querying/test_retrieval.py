"""The pure parts of running the legs: what a photo's look-alikes vote."""


def test_a_photos_look_alike_votes_by_its_tags_where_its_merchant_gave_no_value():
    from hybrid_search.querying.retrieval import voter_values

    fields = {"colour": "red", "tags.colour.value": "black", "tags.article_type.value": "tshirts", "gender": ""}
    assert voter_values(fields) == {"colour": "red", "article_type": "tshirts"}  # the merchant's colour wins
    assert voter_values({}) == {}

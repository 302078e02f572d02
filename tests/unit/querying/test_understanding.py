from hybrid_search.querying.understanding import read_in_another_language


def test_a_query_is_read_in_another_language_where_its_words_were_translated():
    assert read_in_another_language("baskets rouges femme", "red sneakers woman baskets rouges femme")
    assert read_in_another_language("黒いスニーカー", "black sneakers")  # Japanese: kana
    assert not read_in_another_language("黑色运动鞋", "black sports shoes")  # Chinese: the gloss the heads read
    assert not read_in_another_language("black sneakers", "black sneakers")  # English stays as typed
    assert not read_in_another_language("remanika", "remanika")  # a brand alone too

from hybrid_search.ranking.query_class import query_class


def test_query_classes():
    assert query_class("", has_photo=True) == "photo"
    assert query_class("red dress", has_photo=True) == "photo"
    assert query_class("黑色男士双肩包") == "zh"
    assert query_class("Nike 运动鞋") == "zh"
    assert query_class("black men's belt") == "short"
    assert query_class("black waist belt for men") == "long"

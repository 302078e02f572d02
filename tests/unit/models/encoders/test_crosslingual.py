import numpy as np

from hybrid_search.models.encoders.crosslingual import Vocabulary, gloss

# a toy multilingual space: each string's vector, near the value it means
SPACE = {
    "sports shoes": [1.0, 0.0, 0.0, 0.0],
    "black": [0.0, 1.0, 0.0, 0.0],
    "men": [0.0, 0.0, 1.0, 0.0],
    "sunglasses": [0.0, 0.0, 0.0, 1.0],
    "zapatillas": [0.99, 0.05, 0.0, 0.0],
    "negras": [0.05, 0.98, 0.0, 0.1],
    "hombre": [0.0, 0.1, 0.97, 0.0],
    "para": [0.6, 0.0, 0.58, 0.0],  # as near one value as another: no clear meaning
    "gafas": [0.5, 0.0, 0.0, 0.5],
    "sol": [0.0, 0.7, 0.0, 0.7],
}


def encode(texts: list[str]) -> np.ndarray:
    return np.array([SPACE.get(t.lower(), [0.25, 0.25, 0.25, 0.25]) for t in texts], dtype=np.float32)


VOCABULARY = Vocabulary.build(["Sports Shoes", "Black", "Men", "Sunglasses"], encode)
KNOWN = {"black", "men", "shoes", "de"}.__contains__


def test_unknown_words_become_the_nearest_attribute_value_where_it_is_near_and_clear():
    assert gloss("zapatillas negras para hombre", KNOWN, VOCABULARY, encode) == "sports shoes black para men"


def test_words_map_alone_and_known_words_stay_as_typed():
    assert gloss("gafas de sol black", KNOWN, VOCABULARY, encode) == "gafas de sol black"  # no word is near enough
    assert gloss("negras de hombre", KNOWN, VOCABULARY, encode) == "black de men"


def test_a_query_the_catalog_already_reads_is_left_alone():
    calls = []
    assert gloss("black men", KNOWN, VOCABULARY, lambda t: calls.append(t) or encode(t)) == "black men"
    assert calls == []  # nothing to encode


def test_one_unknown_word_among_known_ones_is_a_new_brand_or_a_name_and_stays():
    assert gloss("zapatillas black", KNOWN, VOCABULARY, encode) == "zapatillas black"


def test_nothing_near_enough_leaves_the_text_as_typed():
    assert gloss("zzz qqq", KNOWN, VOCABULARY, encode) == "zzz qqq"
    assert Vocabulary.build(["Black"], encode).nearest(encode(["negras"]))[0][2] == 1.0  # one value: no runner-up

import pytest

from hybrid_search.models.encoders.lexicon import Lexicon, build_lexicon, tokens, word_forms

CATALOG = [
    {"title": "Levis Men Blue Slim Fit Jeans", "article_type": "Jeans", "colour": "Blue", "gender": "Men"},
    {"title": "Levis Men Black Striped Socks", "article_type": "Socks", "colour": "Black", "gender": "Men"},
    {"title": "Mark Taylor Men Striped Shirt", "article_type": "Shirts", "colour": "White", "gender": "Men"},
    {"title": "Mark Taylor Men Checked Shirt", "article_type": "Shirts", "colour": "Navy Blue", "gender": "Men"},
    {"title": "U.S. Polo Assn. Women's Suede Shoes", "article_type": "Casual Shoes", "gender": "Women"},
    {"title": "U.S. Polo Assn. Men Slip On Shoes", "article_type": "Casual Shoes", "category_path": ["Footwear"]},
]


def test_tokens_drop_stopwords_single_letters_and_possessives():
    assert tokens("Men's T-Shirt for Women, U.S. Polo Assn.") == ["men", "shirt", "women", "u.s", "polo", "assn"]
    assert tokens("Q&Q watches") == ["q&q", "watches"]


def test_word_forms_cover_naive_singulars_and_plurals():
    assert {"shirt", "shirts"} <= word_forms("shirts")
    assert {"watch", "watches"} <= word_forms("watches")
    assert {"dress", "dresses"} <= word_forms("dress")


def test_catalog_words_no_attribute_value_names_are_specific():
    lexicon = build_lexicon(CATALOG, ["article_type", "colour", "gender", "category_path"])
    assert lexicon.specific_words("levis socks") == ["levis"]
    assert lexicon.specific_words("mark taylor shirts") == ["mark", "taylor"]
    assert lexicon.specific_words("u.s. polo assn. shoes for men") == ["u.s", "polo", "assn"]
    assert lexicon.specific_words("striped shirt") == ["striped"]
    assert lexicon.specific_words("black shoe for women") == []  # every word is an attribute value's
    assert lexicon.specific_words("checked shirt") == []  # one title only: below min_titles
    assert "footwear" in lexicon.attribute_words  # list values count too


def test_slips_are_the_typed_words_with_a_token_the_catalog_does_not_use():
    lexicon = build_lexicon(CATALOG, ["article_type", "colour", "gender"])
    assert lexicon.slips("Levis striped strpied socks") == {"strpied"}
    assert lexicon.slips("woman jeans for Men's") == {"woman", "Men's"}  # one edit from women, man
    assert lexicon.slips("black jeans for shoes") == frozenset()  # "for": no word to slip
    assert lexicon.slips("u.s. polo shoes") == frozenset()
    assert lexicon.slips("zapatillas levis-ish") == {"zapatillas", "levis-ish"}


def test_the_lexicon_survives_json():
    lexicon = build_lexicon(CATALOG, ["article_type"], min_titles=1)
    assert Lexicon.from_json(lexicon.to_json()) == lexicon


@pytest.mark.parametrize("text", ["", "for the", "x y z"])
def test_text_without_words_has_none(text):
    assert build_lexicon(CATALOG, ["article_type"]).specific_words(text) == []

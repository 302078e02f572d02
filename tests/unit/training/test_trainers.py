import json

import pytest

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.models.encoders.lexicon import build_lexicon
from hybrid_search.training.trainers import tag_vocabulary, with_tags


def test_a_tag_vocabulary_names_values_of_attributes_the_taggers_know(tmp_path):
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps({"colour": [" Black", "Navy Blue"], "gender": ["Men", "Women"]}))
    assert tag_vocabulary(path) == {"colour": ["Black", "Navy Blue"], "gender": ["Men", "Women"]}
    for bad, field in (
        ({"material": ["Cotton", "Silk"]}, "tag_vocabulary.material"),  # no tagger for it
        ({"colour": ["Black"]}, "tag_vocabulary.colour"),  # one value is no choice
        ({"colour": ["Black", ""]}, "tag_vocabulary.colour"),
        (["Black", "White"], "tag_vocabulary"),
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(InvalidInputError) as raised:
            tag_vocabulary(path)
        assert raised.value.field == field
    with pytest.raises(InvalidInputError, match="cannot read"):
        tag_vocabulary(tmp_path / "missing.json")


def test_the_lexicon_learns_a_titles_only_shops_value_names_from_its_tags():
    tagged = {"title": "Nike Men Jersey", "tags": {"colour": {"value": "Navy Blue", "confidence": 0.97}}}
    assert with_tags(tagged)["colour"] == "Navy Blue"
    given = {**tagged, "colour": "Black"}  # the merchant's value stands
    assert with_tags(given)["colour"] == "Black"
    lexicon = build_lexicon([with_tags(tagged), with_tags(tagged)], ["colour"])
    assert lexicon.names_attribute("navy") and lexicon.specific_words("navy nike jersey") == ["nike", "jersey"]

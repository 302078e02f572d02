import json

import pytest

from hybrid_search.errors import InvalidInputError
from hybrid_search.jobs import tag_vocabulary


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

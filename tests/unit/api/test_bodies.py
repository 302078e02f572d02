import pytest

from hybrid_search.api.bodies import MAX_DEPTH, parse_json
from hybrid_search.core.errors import InvalidInputError


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_within_the_depth_limit_parses():
    assert parse_json(nested(MAX_DEPTH)) is not None
    assert parse_json('{"q": "shoes", "colour": ["Black"]}') == {"q": "shoes", "colour": ["Black"]}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50_000])
def test_deeper_json_is_a_400_naming_the_field(depth):
    # 50,000 levels overflow the decoder's recursion (a RecursionError, once a 500)
    with pytest.raises(InvalidInputError, match="nested more than") as info:
        parse_json(nested(depth), "products")
    assert info.value.field == "products"


def test_deep_objects_count_like_lists():
    deep = "{}"
    for _ in range(MAX_DEPTH):
        deep = f'{{"a": {deep}}}'
    with pytest.raises(InvalidInputError):
        parse_json(deep)


def test_malformed_json_names_the_field():
    with pytest.raises(InvalidInputError, match="not valid JSON") as info:
        parse_json("{nope", "body")
    assert info.value.field == "body"

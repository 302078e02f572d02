import pytest

from hybrid_search.core.catalog import ProductIn, parse_products
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.field_map import FASHION_FORMAT, FieldMap, lookup, preset_for

FASHION_ROW = {
    "id": 1526,
    "title": "Puma Big Cat Backpack Black",
    "gender": "Unisex",
    "master_category": "Accessories",
    "sub_category": "Bags",
    "article_type": "Backpacks",
    "colour": "Black",
    "season": "Fall",
    "year": "2010.0",
    "usage": "Sports",
    "image": None,
}

# a marketplace's row: its own names, attributes nested in a map, a category tree as one string
MARKETPLACE_ROW = {
    "sku": "TBL-9",
    "name": "Oak Dining Table",
    "maker": {"name": "Nordwood"},
    "tree": "Furniture > Tables > Dining",
    "cost": "249.90",
    "specs": {"material": "oak", "seats": 6, "foldable": False, "finish": ""},
    "photo": "images/tbl-9.jpg",
    "internal_note": "restock in May",
}
MARKETPLACE = FieldMap.parse(
    [
        "product_id=sku",
        "title=name",
        "brand=maker.name",
        "category_path=tree",
        "price=cost",
        "image=photo",
        "attributes.*=specs",
    ]
)


def test_the_fashion_format_maps_to_uploads():
    product = FASHION_FORMAT.product(FASHION_ROW)
    assert product["product_id"] == "1526"
    assert product["year"] == 2010
    assert product["category_path"] == ["Accessories", "Bags"]
    assert "image" not in product  # no photo: no value, not None
    (parsed,) = parse_products([product])
    assert parsed.article_type == "Backpacks" and parsed.image is None


def test_a_marketplace_row_maps_its_own_names_nested_values_and_category_tree():
    product = MARKETPLACE.product(MARKETPLACE_ROW)
    assert product == {
        "product_id": "TBL-9",
        "title": "Oak Dining Table",
        "brand": "Nordwood",
        "category_path": ["Furniture", "Tables", "Dining"],
        "price": 249.9,
        "image": "images/tbl-9.jpg",
        # numbers and booleans as text; an empty value is no value
        "attributes": {"material": "oak", "seats": "6", "foldable": "false"},
    }
    ProductIn.model_validate(product)
    assert MARKETPLACE.read_columns() >= {"sku", "name", "maker", "tree", "cost", "specs", "photo"}
    assert "internal_note" not in MARKETPLACE.read_columns()


def test_a_file_in_the_upload_format_needs_no_mapping():
    row = {"product_id": "a", "title": "Red Mug", "attributes": {"capacity": 350}, "price": 4}
    assert FieldMap().product(row) == {
        "product_id": "a",
        "title": "Red Mug",
        "price": 4,
        "attributes": {"capacity": "350"},
    }


def test_csv_cells_are_read_as_a_csv_holds_them():
    row = {"product_id": "7", "title": "Lamp", "year": "2019.0", "price": "", "brand": "  ", "colour": "Blue"}
    assert FieldMap().product(row) == {"product_id": "7", "title": "Lamp", "year": 2019, "colour": "Blue"}
    # a value that is no whole number is passed on for validation to name
    with pytest.raises(InvalidInputError) as info:
        parse_products([FieldMap().product({**row, "year": "2019.5"})])
    assert info.value.field == "products[0].year"


def test_numeric_ids_and_single_attributes():
    field_map = FieldMap.parse(["product_id=id", "attributes.material=specs.material", "attributes.width_cm=w"])
    product = field_map.product({"id": 12.0, "title": "Rug", "specs": {"material": "wool"}, "w": 120})
    assert product["product_id"] == "12"
    assert product["attributes"] == {"material": "wool", "width_cm": "120"}


def test_several_columns_make_a_category_path_and_a_list_is_one():
    field_map = FieldMap.parse(["category_path=dept,aisle,shelf"])
    assert field_map.product({"dept": "Home", "aisle": "", "shelf": "Mugs"})["category_path"] == ["Home", "Mugs"]
    assert FieldMap().product({"category_path": ["A", "B"]})["category_path"] == ["A", "B"]


def test_a_column_named_with_dots_wins_over_a_nested_path():
    assert lookup({"specs.material": "flat", "specs": {"material": "nested"}}, "specs.material") == "flat"
    assert lookup({"specs": {"material": "nested"}}, "specs.material") == "nested"
    assert lookup({"specs": "not a map"}, "specs.material") is None


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("title", "--map.title"),
        ("=name", "--map"),
        ("title=", "--map.title"),
        ("colour=a,b", "--map.colour"),
        ("name=title", "--map.name"),
        ("attributes.=x", "--map.attributes."),
        ("title=a,", "--map.title"),
    ],
)
def test_a_bad_mapping_names_its_field(entry, field):
    with pytest.raises(InvalidInputError) as info:
        FieldMap.parse([entry])
    assert info.value.field == field


def test_a_field_mapped_twice_is_refused():
    with pytest.raises(InvalidInputError, match="mapped twice") as info:
        FieldMap.parse(["title=a", "title=b"])
    assert info.value.field == "--map.title"


def test_the_preset_follows_the_first_row():
    assert preset_for(FASHION_ROW) == "fashion"
    assert preset_for({"product_id": "1", "id": "1", "master_category": "x"}) == "upload"
    assert preset_for(MARKETPLACE_ROW) == "upload"

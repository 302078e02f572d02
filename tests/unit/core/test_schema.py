import pytest

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.schema import CatalogSchema, FieldFilter, fashion_schema

FURNITURE = {
    "name": "furniture",
    "fields": {
        "title": {"type": "text"},
        "brand": {"type": "keyword", "filterable": True, "facet": True},
        "price": {"type": "number", "filterable": True, "sortable": True},
        "material": {"type": "keyword", "searchable": True, "filterable": True, "facet": True},
        "seats": {"type": "number", "filterable": True, "facet": True, "sortable": True},
        "foldable": {"type": "boolean", "filterable": True, "facet": True},
        "released": {"type": "date", "filterable": True, "sortable": True},
        "care": {"type": "text", "searchable": True},
    },
}


@pytest.fixture
def furniture() -> CatalogSchema:
    return CatalogSchema.parse(FURNITURE)


def test_declared_fields_are_mapped_under_specs_and_built_in_ones_keep_their_place(furniture):
    assert set(furniture.declared) == {"material", "seats", "foldable", "released", "care"}
    assert furniture.path("colour") == "colour" and furniture.path("seats") == "specs.seats"
    assert furniture.path("brand") == "brand.keyword"  # searched as text; filtered and counted by its keyword
    assert furniture.path("merchant_id") == "merchant_id"
    mapping = furniture.mapping()
    assert mapping["dynamic"] is False  # a field no version declares is kept in _source, not mapped
    assert mapping["properties"]["seats"] == {"type": "double"}
    assert mapping["properties"]["released"] == {"type": "date"}
    assert mapping["properties"]["care"]["type"] == "text"


def test_a_products_attributes_are_typed_by_its_schema(furniture):
    attributes = {"material": "oak", "seats": "6", "foldable": "Yes", "released": "2024-03-01", "colour": "x"}
    assert furniture.specs(attributes, "products[0]") == {
        "material": "oak",
        "seats": 6.0,
        "foldable": True,
        "released": "2024-03-01",
    }
    assert furniture.specs({"seats": " "}, "products[0]") == {}  # blank: no value


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"seats": "six"}, "products[3].attributes.seats"),
        ({"seats": "inf"}, "products[3].attributes.seats"),
        ({"foldable": "maybe"}, "products[3].attributes.foldable"),
        ({"released": "March 2024"}, "products[3].attributes.released"),
    ],
)
def test_a_value_not_of_its_type_is_named(furniture, attributes, field):
    with pytest.raises(InvalidInputError) as info:
        furniture.specs(attributes, "products[3]")
    assert info.value.field == field


def test_filters_are_any_of_the_values_or_a_range(furniture):
    filters = furniture.field_filters({"material": ["oak", "pine"], "seats": ["4..8"], "released": ["2024-01-01.."]})
    assert filters == [
        FieldFilter("specs.material", ("oak", "pine")),
        FieldFilter("specs.seats", gte=4.0, lte=8.0),
        FieldFilter("specs.released", gte="2024-01-01"),
    ]
    assert furniture.field_filters({"foldable": ["false"]}) == [FieldFilter("specs.foldable", (False,))]
    assert furniture.field_filters({"merchant_id": ["m1"]}) == [FieldFilter("merchant_id", ("m1",))]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"care": ["gentle"]}, "not a filterable field"),
        ({"colour": ["red"]}, "not a filterable field"),
        ({"material": ["a..b"]}, "for a number or a date"),
        ({"seats": ["1..2", "3..4"]}, "one value"),
        ({"seats": [".."]}, "one end at least"),
        ({"seats": ["two"]}, "not a number"),
    ],
)
def test_a_bad_filter_names_its_parameter(furniture, filters, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        furniture.field_filters(filters)
    assert info.value.field == f"filter[{next(iter(filters))}]"


def test_facets_and_sorts_follow_the_roles(furniture):
    assert furniture.facet_paths(["material", "brand", "merchant_id"]) == {
        "material": "specs.material",
        "brand": "brand.keyword",
        "merchant_id": "merchant_id",
    }
    with pytest.raises(InvalidInputError, match="'care' is not a facet") as info:
        furniture.facet_paths(["care"])
    assert info.value.field == "facets"
    assert furniture.sort_clauses(["seats:desc", "price", "created_at"]) == [
        {"specs.seats": "desc"},
        {"price": "asc"},
        {"created_at": "asc"},
    ]
    for bad in ("material", "seats:up", "colour"):
        with pytest.raises(InvalidInputError) as info:
            furniture.sort_clauses([bad])
        assert info.value.field == "sort"


def test_the_fashion_schema_gives_search_the_roles_it_had():
    fashion = fashion_schema()
    assert fashion.declared == {}
    assert sorted(fashion.facets) == sorted(["article_type", "category", "colour", "gender", "usage", "merchant_id"])
    assert sorted(fashion.sortable) == sorted(["price", "year", "popularity", "created_at", "updated_at"])
    assert sorted(fashion.filterable) == sorted([*fashion.facets, "price"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"fields": {"Seats": {"type": "number"}}}, "fields"),
        ({"fields": {"seats": {"type": "integer"}}}, "fields.seats.type"),
        ({"fields": {"care": {"type": "text", "facet": True}}}, "fields.care"),
        ({"fields": {"released": {"type": "date", "facet": True}}}, "fields.released"),
        ({"fields": {"price": {"type": "keyword"}}}, "fields"),
        ({"fields": {"merchant_id": {"type": "keyword"}}}, "fields"),
        ({"fields": {"seats": {"type": "number", "boost": 2}}}, "fields.seats"),  # only a searchable field has one
        ({"fields": {"care": {"type": "text", "searchable": True, "boost": 0}}}, "fields.care.boost"),
        (
            {"fields": {"care": {"type": "text", "searchable": True, "analyzers": ["klingon"]}}},
            "fields.care.analyzers[0]",
        ),
        ({"fields": {"care": {"type": "text", "searchable": True, "analyzers": []}}}, "fields.care.analyzers"),
        ({"fields": {"care": {"type": "text", "searchable": True, "analyzers": ["german", "german"]}}}, "fields.care"),
        ({"fields": {"colour": {"type": "keyword", "searchable": True}}}, "fields"),  # searched as an attribute
        ({"fields": {"seats": {"type": "number", "bost": 2}}}, "fields.seats.bost"),
        ({"fields": {}, "extra": 1}, "extra"),
    ],
)
def test_a_bad_schema_names_its_field(change, field):
    with pytest.raises(InvalidInputError) as info:
        CatalogSchema.parse({**FURNITURE, **change})
    assert info.value.field == field


def test_a_field_an_index_maps_as_another_type_is_retyped(furniture):
    assert furniture.retyped({"seats": "double", "material": "keyword", "gone": "long"}) == []
    assert furniture.retyped({"seats": "keyword", "material": "keyword"}) == ["seats"]


def test_products_already_indexed_are_typed_leaving_out_what_is_not_of_its_type(furniture):
    specs, wrong = furniture.typed_specs({"seats": "a few", "material": " oak ", "foldable": "yes", "other": "x"})
    assert specs == {"material": "oak", "foldable": True} and wrong == ["seats"]


def test_searchable_fields_give_a_products_search_text(furniture):
    specs = furniture.specs({"care": "wipe with a damp cloth", "material": "oak", "seats": "4"}, "p")
    assert furniture.search_text(specs) == "oak wipe with a damp cloth"  # in the schema's order; numbers are filtered
    with pytest.raises(InvalidInputError, match="filtered, not searched") as info:
        CatalogSchema.parse({**FURNITURE, "fields": {"seats": {"type": "number", "searchable": True}}})
    assert info.value.field == "fields.seats"


def test_the_fashion_schema_searches_the_built_in_fields_at_the_boosts_they_had():
    fashion = fashion_schema()
    assert fashion.bm25_fields() == (
        "title^3", "title.zh^2", "brand^2", "brand.zh",
        "category_path", "category_path.zh", "description", "description.zh",
    )  # fmt: skip
    assert fashion.analysed() == {} and fashion.built_in_subfields() == {}  # the template's mapping as it is
    # a query without Chinese, Japanese or Korean characters: the cjk sub-fields read it as the
    # English fields do, unstemmed; they are left out
    assert fashion.bm25_fields(cjk=False) == ("title^3", "brand^2", "category_path", "description")


def test_searchable_fields_are_searched_at_their_boost_in_each_of_their_languages():
    schema = CatalogSchema.parse(
        {
            "name": "moebel",
            "fields": {
                "title": {"type": "text", "searchable": True, "boost": 4, "analyzers": ["english", "german"]},
                "material": {"type": "keyword", "searchable": True, "boost": 2},
                "care": {"type": "text", "searchable": True, "analyzers": ["german"]},
                "seats": {"type": "number", "filterable": True},
            },
        }
    )
    assert schema.bm25_fields() == (
        "title^4", "title.german^4",  # a boost weighs every language of the field
        "brand^2", "brand.zh", "category_path", "category_path.zh", "description", "description.zh",
        "specs.material.english^2", "specs.material.zh^2",  # a keyword's words, in English and CJK by default
        "specs.care.german",  # a text field analysed in German alone: its English main field is not searched
    )  # fmt: skip
    assert schema.bm25_fields(cjk=False) == (
        "title^4", "title.german^4", "brand^2", "category_path", "description",
        "specs.material.english^2", "specs.care.german",
    )  # fmt: skip
    only_cjk = CatalogSchema.parse(
        {"name": "cn", "fields": {"name": {"type": "text", "searchable": True, "analyzers": ["cjk"]}}}
    )
    assert "specs.name.zh" in only_cjk.bm25_fields(cjk=False)  # the field's one language: still searched
    german = {"type": "text", "analyzer": "german"}
    assert schema.built_in_subfields() == {"title": {"german": german}}
    properties = schema.mapping()["properties"]
    assert properties["material"] == {
        "type": "keyword",
        "ignore_above": 256,
        "fields": {"english": {"type": "text", "analyzer": "english"}, "zh": {"type": "text", "analyzer": "cjk"}},
    }
    assert properties["care"] == {"type": "text", "analyzer": "english", "fields": {"german": german}}
    assert properties["seats"] == {"type": "double"}
    assert schema.analysed() == {"title": ["german"], "specs.material": ["english", "zh"], "specs.care": ["german"]}
    assert schema.retyped({"care": "text", "material": "keyword"}) == []  # a language is a sub-field: no new index


def test_a_field_not_shown_is_left_out_of_a_hit_wherever_the_product_holds_it():
    schema = CatalogSchema.parse(
        {
            "name": "moebel",
            "fields": {
                "cost": {"type": "number", "filterable": True, "shown": False},
                "supplier": {"type": "keyword", "searchable": True, "shown": False},
                "kind": {"type": "keyword", "understood_as": "article_type", "shown": False},
                "category": {"type": "keyword", "shown": False},
                "material": {"type": "keyword", "searchable": True, "facet": True},
            },
        }
    )
    stored = {
        "title": "Oak Table",
        "article_type": "Tables",
        "category": "Home > Tables",
        "category_path": "Home > Tables",
        "specs": {"cost": 120.0, "supplier": "acme", "material": "oak"},
        "attributes": {"cost": "120", "supplier": "acme", "kind": "Tables", "material": "oak"},
        "specs_text": "acme oak",
        "tags": {"article_type": {"value": "Tables"}, "colour": {"value": "Brown"}},
    }
    assert schema.shown(stored) == {
        "title": "Oak Table",
        "specs": {"material": "oak"},
        "attributes": {"material": "oak"},
        "tags": {"colour": {"value": "Brown"}},
    }
    assert stored["specs"]["cost"] == 120.0  # the stored document is left as it is
    assert fashion_schema().shown(stored) is stored  # a schema that hides nothing shows everything
    with pytest.raises(InvalidInputError, match="not counted or sorted") as info:
        CatalogSchema.parse({"name": "x", "fields": {"cost": {"type": "number", "sortable": True, "shown": False}}})
    assert info.value.field == "fields.cost"


MARKETPLACE = {
    "name": "marketplace",
    "fields": {
        "kind": {"type": "keyword", "understood_as": "article_type", "filterable": True, "facet": True},
        "color": {"type": "keyword", "understood_as": "colour", "filterable": True, "facet": True},
        "material": {"type": "keyword", "searchable": True, "filterable": True},
    },
}


def test_a_shops_own_field_understood_as_a_built_in_attribute_is_stored_there():
    from hybrid_search.core.catalog import parse_products

    schema = CatalogSchema.parse(MARKETPLACE)
    assert set(schema.declared) == {"material"}  # kind and color live in article_type and colour
    assert schema.path("kind") == "article_type" and schema.facet_paths(["color"]) == {"color": "colour"}
    assert schema.field_filters({"kind": ["Tshirts"]}) == [FieldFilter("article_type", ("Tshirts",))]
    (product,) = parse_products(
        [{"product_id": "p", "title": "Tee", "attributes": {"kind": "Tshirts", "color": "Red"}}]
    )
    understood = schema.with_understood(product, "products[0]")
    assert (understood.article_type, understood.colour) == ("Tshirts", "Red")
    (own,) = parse_products([{"product_id": "p", "title": "Tee", "colour": "Blue", "attributes": {"color": "Red"}}])
    assert schema.with_understood(own, "products[0]").colour == "Blue"  # the product's own value stands
    (long,) = parse_products([{"product_id": "p", "title": "Tee", "attributes": {"color": "x" * 100}}])
    with pytest.raises(InvalidInputError) as info:
        schema.with_understood(long, "products[4]")
    assert info.value.field == "products[4].attributes.color"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": {"type": "number", "understood_as": "article_type"}}, "is a keyword"),
        ({"kind": {"type": "keyword", "understood_as": "brand"}}, "understood_as"),
        ({"colour": {"type": "keyword", "understood_as": "gender"}}, "the heads understand a field of the shop's own"),
        (
            {
                "kind": {"type": "keyword", "understood_as": "article_type"},
                "type": {"type": "keyword", "understood_as": "article_type"},
            },
            "both name the product's article_type",
        ),
        ({"kind": {"type": "keyword", "understood_as": "article_type"}, "article_type": {"type": "keyword"}}, "both"),
    ],
)
def test_one_field_per_understood_attribute(fields, message):
    with pytest.raises(InvalidInputError, match=message):
        CatalogSchema.parse({"name": "m", "fields": fields})


def test_the_heads_learn_a_keyword_of_the_shops_own():
    schema = CatalogSchema.parse(
        {"name": "f", "fields": {"material": {"type": "keyword", "understood": True}, "seats": {"type": "number"}}}
    )
    assert schema.heads == ["specs.material"]
    for field, why in (
        ({"type": "number", "understood": True}, "keyword"),
        ({"type": "keyword", "understood": True, "understood_as": "colour"}, "not understood_as"),
    ):
        with pytest.raises(InvalidInputError, match=why):
            CatalogSchema.parse({"name": "f", "fields": {"material": field}})
    with pytest.raises(InvalidInputError, match="built in"):
        CatalogSchema.parse({"name": "f", "fields": {"colour": {"type": "keyword", "understood": True}}})

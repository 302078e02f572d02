import pytest

from hybrid_search.core.catalog import (
    EventIn,
    SearchRequest,
    content_hash,
    doc_id,
    embedding_text,
    merchant_id,
    parse_model,
    parse_products,
    product_document,
    product_id_of,
    split_doc_id,
)
from hybrid_search.core.errors import InvalidInputError

GOOD = {
    "product_id": "sku-1",
    "title": "Puma Men Black Backpack",
    "article_type": "Backpacks",
    "colour": "Black",
    "gender": "Men",
    "category_path": ["Accessories", "Bags"],
    "price": 39.5,
    "currency": "EUR",
}


def test_valid_rows_parse():
    (product,) = parse_products([GOOD])
    assert product.category_path == ("Accessories", "Bags")
    assert product.price == 39.5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": -1}, "products[1].price"),
        ({"price": float("nan")}, "products[1].price"),
        ({"title": ""}, "products[1].title"),
        ({"product_id": "has space"}, "products[1].product_id"),
        ({"currency": "euro"}, "products[1].currency"),
        ({"category_path": ["ok", " "]}, "products[1].category_path"),
        ({"colour": 7}, "products[1].colour"),
        ({"unknown": 1}, "products[1].unknown"),
    ],
)
def test_the_first_bad_field_is_named(change, field):
    rows = [GOOD, {**GOOD, "product_id": "sku-2", **change}]
    with pytest.raises(InvalidInputError) as info:
        parse_products(rows)
    assert info.value.field == field


def test_missing_required_field_is_named():
    with pytest.raises(InvalidInputError) as info:
        parse_products([{"product_id": "a"}])
    assert info.value.field == "products[0].title"


def test_duplicates_and_non_objects_and_empty_uploads_are_rejected():
    with pytest.raises(InvalidInputError, match="duplicate"):
        parse_products([GOOD, GOOD])
    with pytest.raises(InvalidInputError) as info:
        parse_products([GOOD, "nope"])
    assert info.value.field == "products[1]"
    with pytest.raises(InvalidInputError):
        parse_products([])


def test_content_hash_depends_on_content_and_photo_only():
    (product,) = parse_products([GOOD])
    (same,) = parse_products([dict(GOOD)])
    (other,) = parse_products([{**GOOD, "price": 40}])
    assert content_hash(product, "abc") == content_hash(same, "abc")
    assert content_hash(product, "abc") != content_hash(product, "abd")
    assert content_hash(product, None) != content_hash(other, None)


def test_pending_document_has_status_hash_and_no_empty_fields():
    (product,) = parse_products([GOOD])
    doc = product_document(product, "m1", None)
    assert doc["status"] == "pending"
    assert doc["merchant_id"] == "m1"
    assert doc["category"] == doc["category_path"] == "Accessories > Bags"
    assert doc["has_image"] is False
    assert doc["content_hash"] == content_hash(product, None)
    assert "description" not in doc


def test_embedding_text_is_title_then_attributes():
    (product,) = parse_products([GOOD])
    text = embedding_text(product_document(product, "m1", None))
    assert text == "Puma Men Black Backpack. Backpacks Black Men Accessories Bags"


@pytest.mark.parametrize(("value", "ok"), [(True, False), (5.9, False), ("5", True), (5.0, True), ("x", False)])
def test_whole_numbers_are_strict(value, ok):
    # pydantic's lax mode reads true as 1; JSON numbers without a fraction and digit strings pass
    if ok:
        assert parse_model(SearchRequest, {"q": "x", "size": value}).size == 5
    else:
        with pytest.raises(InvalidInputError) as info:
            parse_model(SearchRequest, {"q": "x", "size": value})
        assert info.value.field == "size"
    with pytest.raises(InvalidInputError, match="year"):
        parse_products([{**GOOD, "year": True}])


def test_explain_is_a_boolean_or_a_400():
    assert parse_model(SearchRequest, {"q": "x", "explain": "true"}).explain is True
    with pytest.raises(InvalidInputError, match="explain"):
        parse_model(SearchRequest, {"q": "x", "explain": "maybe"})


def test_event_times_without_an_offset_are_utc():
    event = {"action_name": "click", "user_id": "u", "event_attributes": {"object": {"object_id": "1"}}}
    parsed = parse_model(EventIn, {**event, "timestamp": "2026-11-27T10:00:00"})
    assert parsed.timestamp.utcoffset() is not None and parsed.timestamp.hour == 10


def test_document_ids_are_per_merchant_and_split_back():
    assert doc_id("acme", "sku:1.a") == "acme/sku:1.a"
    assert product_id_of(doc_id("acme", "sku:1.a")) == "sku:1.a"
    assert product_id_of("sku-1") == "sku-1"  # an id from before schema 4
    assert split_doc_id(doc_id("acme", "sku:1.a")) == ("acme", "sku:1.a")
    assert split_doc_id("sku-1") == (None, "sku-1")
    assert merchant_id("acme.eu_1") == "acme.eu_1"
    for bad in ("", "acme/eu", "a:b", "-acme", "x" * 65):
        with pytest.raises(InvalidInputError) as info:
            merchant_id(bad, "merchant")
        assert info.value.field == "merchant"


@pytest.mark.parametrize(
    ("ref", "ok"), [("sku-1", True), ("acme/sku-1", True), ("acme/sku:1", True), ("a/b/c", False), ("/sku", False)]
)
def test_products_are_named_by_id_or_merchant_and_id(ref, ok):
    event = {"action_name": "click", "user_id": "u", "event_attributes": {"object": {"object_id": ref}}}
    if ok:
        assert parse_model(SearchRequest, {"like": ref}).like == ref
        assert parse_model(EventIn, event).event_attributes.object.object_id == ref
    else:
        with pytest.raises(InvalidInputError, match="like"):
            parse_model(SearchRequest, {"like": ref})


def test_a_photo_named_by_url_waits_for_the_worker_and_its_url_is_content():
    (product,) = parse_products([{**GOOD, "image": "https://cdn.shop.example/p/1.jpg"}])
    doc = product_document(product, "m1", None)
    assert doc["image_path"] == "https://cdn.shop.example/p/1.jpg"
    assert doc["image_hash"] is None and doc["has_image"] is False
    (moved,) = parse_products([{**GOOD, "image": "https://cdn.shop.example/p/2.jpg"}])
    assert content_hash(moved, None) != content_hash(product, None)
    # a product without a URL hashes as before URLs were read (a catalog loaded again is unchanged)
    (plain,) = parse_products([GOOD])
    assert "image_path" not in product_document(plain, "m1", "ab" * 32)
    assert content_hash(plain, None) == content_hash(parse_products([{**GOOD, "image": "images/1.jpg"}])[0], None)

import io
import random

from PIL import Image

from hybrid_search.evaluation import synthetic
from hybrid_search.evaluation.synthetic import CatalogProduct, phone_snapshot, synthetic_queries
from hybrid_search.models.encoders.lexicon import build_lexicon

ROWS = [
    ("1", "Remanika Men Black Sports Shoes", "Sports Shoes", "Black", "Men", "h1"),
    ("2", "Remanika Women White Sports Shoes", "Sports Shoes", "White", "Women", None),
    ("3", "Remanika Unisex Black Sports Shoes", "Sports Shoes", "Black", "Unisex", None),
    ("4", "Mark Taylor Men Black Striped Shirt", "Shirts", "Black", "Men", "h4"),
    ("5", "Mark Taylor Men Blue Checked Shirt", "Shirts", "Blue", "Men", None),
    ("6", "Mark Taylor Men White Solid Shirt", "Shirts", "White", "Men", None),
    ("7", "Nike Men Black Shirt", "Shirts", "Black", "Men", None),
]
PRODUCTS = [CatalogProduct(i, t, a, c, g, "Casual", h) for i, t, a, c, g, h in ROWS]
LEXICON = build_lexicon(
    [{"title": p.title, "article_type": p.article_type, "colour": p.colour, "gender": p.gender} for p in PRODUCTS],
    ["article_type", "colour", "gender"],
)


def photo(_: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def queries(kind: str, count: int = 40):
    return [q for q in synthetic_queries(PRODUCTS, LEXICON, photo, {kind: count}, seed=1) if q.kind == kind]


def test_attribute_queries_are_graded_as_the_dev_judgments():
    for q in queries("attributes"):
        assert q.text and q.grades and max(q.grades.values()) == 2
        if q.text == "black men's shirts":
            # type, colour and gender: 2; one of them off: 1; another type: not judged
            assert q.grades == {"4": 2, "7": 2, "5": 1, "6": 1}
        if q.text == "black men's sports shoes":
            assert q.grades == {"1": 2, "3": 2}  # Unisex fits men; white for women misses two


def test_described_queries_need_the_colour_and_the_word_and_a_phrase_in_a_title_is_not_enough(monkeypatch):
    monkeypatch.setattr(synthetic, "MIN_DESCRIBING", 3)
    rows = [
        ("a", "Mark Taylor Men Black Striped Shirt", "Shirts", "Black"),
        ("b", "Nike Men Blue Striped Shirt", "Shirts", "Blue"),
        ("c", "Nike Men Black Shirt", "Shirts", "Black"),
        ("d", "Puma Men Black Striped Tshirt", "Tshirts", "Black"),
        ("e", "Arrow Men White Black Striped Shirt", "Shirts", "White"),  # the phrase, another colour
    ]
    products = [CatalogProduct(i, t, a, c, "Men") for i, t, a, c in rows]
    fields = [{"title": t, "article_type": a, "colour": c} for _, t, a, c in rows]
    lexicon = build_lexicon(fields, ["article_type", "colour"])
    built = {q.text: q.grades for q in synthetic_queries(products, lexicon, photo, {"described": 30}, seed=1)}
    # "striped" is the only word titles use that no attribute names and no title starts with (mark, nike: brands)
    assert set(built) == {
        "black striped shirts",
        "blue striped shirts",
        "white striped shirts",
        "black striped tshirts",
    }
    assert built["black striped shirts"] == {"a": 2, "b": 1, "c": 1, "e": 1}
    assert built["black striped tshirts"] == {"d": 2}


def test_brand_queries_are_the_words_titles_start_with_that_several_share():
    built = {q.text: q.grades for q in queries("words")}
    assert set(built) <= {"remanika", "mark taylor", "remanika sports shoes", "mark taylor shirts"}
    assert built.get("remanika", {"1": 2, "2": 2, "3": 2}) == {"1": 2, "2": 2, "3": 2}
    if "mark taylor shirts" in built:
        assert built["mark taylor shirts"] == {"4": 2, "5": 2, "6": 2, "7": 1}


def test_retyped_titles_answer_with_that_product():
    built = queries("title")
    assert {tuple(q.grades) for q in built} <= {(p.id,) for p in PRODUCTS}
    assert all(set(q.grades.values()) == {2} for q in built)
    texts = {q.text for q in built}
    assert "men black striped shirt" in texts  # without its brand
    assert any(t.startswith("mark taylor") and t not in {p.title.lower() for p in PRODUCTS} for t in texts)


def test_snapshots_find_their_product_first_and_a_product_the_shop_lacks_is_its_clean_photo():
    built = queries("photo", 9)
    assert len(built) == 9
    kept = [q for q in built if not q.exclude]
    left = [q for q in built if q.exclude]
    assert len(left) == 3 and all(q.exclude[0] not in q.grades for q in left)
    assert all(q.photo == photo(q.exclude[0]) for q in left)  # another shop's listing: the photo untouched
    for q in kept:
        (answer,) = [pid for pid, g in q.grades.items() if g == 3]
        same = next(p for p in PRODUCTS if p.id == answer)
        assert all(
            g == (2 if p.colour == same.colour else 1)
            for p in PRODUCTS
            if p.article_type == same.article_type and p.id != answer
            for g in [q.grades[p.id]]
        )
        image = Image.open(io.BytesIO(q.photo))
        assert image.format == "JPEG" and image.size == (64, 48)


def test_snapshot_is_an_altered_copy_and_reproducible():
    original = photo("")
    a, b = phone_snapshot(original, random.Random(3)), phone_snapshot(original, random.Random(3))
    assert a == b and a != original

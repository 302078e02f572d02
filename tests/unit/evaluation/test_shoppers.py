from collections import Counter

import numpy as np

from hybrid_search.core.field_map import FASHION_FORMAT
from hybrid_search.evaluation import shoppers as sim
from tests.data import fashion_rows


def catalog():
    return [FASHION_FORMAT.product(r) for r in fashion_rows()]


def test_the_same_seed_gives_the_same_shoppers_and_another_seed_others():
    products = catalog()
    first, again = sim.make_shoppers(products, 5, seed=3), sim.make_shoppers(products, 5, seed=3)
    assert first == again
    assert [s.taste for s in sim.make_shoppers(products, 5, seed=4)] != [s.taste for s in first]
    assert Counter(s.group for s in first) == dict.fromkeys(sim.HISTORY_SESSIONS, 5)
    assert len({s.user_id for s in first}) == 20


def test_tastes_are_drawn_from_what_the_catalog_has():
    products = catalog()
    values = {field: {sim.value(p, field) for p in products} for field in ("colour", "usage", "brand")}
    for shopper in sim.make_shoppers(products, 5, seed=1):
        taste = shopper.taste
        assert len(taste.types) == 3 and taste.gender in ("Men", "Women")
        for field, liked in taste.likes.items():
            assert set(liked) <= values[field] and all(0.6 <= s <= 1.0 for s in liked.values())
        assert not set(taste.likes["colour"]) & taste.dislikes["colour"]
        fitting = [p for p in products if p["article_type"] in taste.types and p["gender"] in (taste.gender, "Unisex")]
        assert len(fitting) >= 40


def test_a_drifting_shopper_changes_colours_half_way_and_keeps_the_rest():
    shopper = next(s for s in sim.make_shoppers(catalog(), 3, seed=2) if s.group == "drifting")
    half = shopper.sessions // 2
    assert shopper.taste_at(0) == shopper.taste and shopper.taste_at(half) == shopper.later
    assert shopper.later.types == shopper.taste.types and shopper.later.gender == shopper.taste.gender
    assert shopper.later.likes["colour"] != shopper.taste.likes["colour"]


TASTE = sim.Taste(
    "Men", ("Watches",), {"colour": {"black": 1.0}, "brand": {"titan": 0.8}}, {"colour": frozenset({"pink"})}
)


def product(colour, title="Titan Men Watch", article_type="Watches", gender="Men"):
    return {"title": title, "colour": colour, "article_type": article_type, "gender": gender}


def test_grades_rise_for_a_fit_and_fall_for_a_clash():
    assert sim.personal_grade("Watches", TASTE, product("Black")) == 2  # liked colour and brand
    assert sim.personal_grade("Watches", TASTE, product("Blue", title="Fastrack Men Watch")) == 1
    assert sim.personal_grade("Watches", TASTE, product("Pink", title="Fastrack Men Watch")) == 0
    assert sim.personal_grade("Watches", TASTE, product("Black", gender="Women")) == 0  # not relevant
    assert sim.personal_grade("Watches", TASTE, product("Black", gender="Unisex")) == 2
    assert sim.personal_grade("Backpacks", TASTE, product("Black")) == 0


def test_browsing_is_seeded_position_biased_and_follows_taste():
    served = [product("Black")] * 10

    def run(seed):
        rng = np.random.default_rng(seed)
        return [sim.browse(rng, TASTE, "Watches", served) for _ in range(300)]

    assert run(0) == run(0)
    clicks = Counter(rank for session in run(0) for action, rank in session if action == "click")
    assert clicks[0] > clicks[4] > clicks[9] > 0
    liked = sum(a == "click" for s in run(1) for a, _ in s)
    rng = np.random.default_rng(1)
    clashing = sum(
        a == "click" for _ in range(300) for a, _ in sim.browse(rng, TASTE, "Watches", [product("Pink")] * 10)
    )
    assert liked > 2 * clashing
    assert all(sum(a == "purchase" for a, _ in s) <= 1 for s in run(2))

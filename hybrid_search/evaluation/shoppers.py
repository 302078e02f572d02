"""Simulated shoppers, for measuring personalisation where no real users are at hand.

Each shopper has latent tastes drawn from the catalog (gender, the article types they shop, liked
and disliked colours, a liked style/usage, liked brands: the first word of a title, with strengths)
and a history length. Browsing follows the tastes: a shopper searches one of their types, examines
what search served with position bias, clicks what fits them (with noise), carts and buys some of
it. A drifting shopper's tastes change half-way through their history; the test uses the new ones.
Per-user judgments grade a test query's relevant products (right type, compatible gender) up when
they fit the shopper and down when they clash. The catalog has no prices, so there is no price band.

Pure: every draw comes from a seeded ``numpy`` Generator; the bench does the searching and posting.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

HISTORY_SESSIONS = {"short": 2, "medium": 6, "long": 16, "drifting": 16}
EXAMINE_DECAY = 0.8  # P(examine rank r) = 1 / (r + 1) ** EXAMINE_DECAY
FIT_MATCH, FIT_CLASH = 0.25, -0.25  # fit at or past these grades a relevant product up or down


@dataclass(frozen=True)
class Taste:
    gender: str
    types: tuple[str, ...]
    likes: Mapping[str, Mapping[str, float]]  # field -> value -> strength in (0, 1]
    dislikes: Mapping[str, frozenset[str]]  # field -> values that clash


@dataclass(frozen=True)
class Shopper:
    user_id: str
    group: str  # short, medium, long, drifting
    taste: Taste  # during the history (its first half, for a drifting shopper)
    later: Taste  # after: the second half of a drifting shopper's history, and the test

    def taste_at(self, session: int) -> Taste:
        return self.later if session >= HISTORY_SESSIONS[self.group] // 2 else self.taste

    @property
    def sessions(self) -> int:
        return HISTORY_SESSIONS[self.group]


def brand(product: Mapping[str, object]) -> str:
    """The catalog's brand: the first word of the title (the fashion catalog has no brand field)."""
    words = str(product.get("title", "")).split()
    return words[0].lower() if words else ""


def value(product: Mapping[str, object], field: str) -> str:
    return brand(product) if field == "brand" else str(product.get(field, "")).lower()


def fit(taste: Taste, product: Mapping[str, object]) -> float:
    """How well ``product`` suits the taste, in [-1, 1]: liked values add their strength, disliked
    ones subtract 1, averaged over the fields the taste has views on."""
    fields = set(taste.likes) | set(taste.dislikes)
    if not fields:
        return 0.0
    total = 0.0
    for field in fields:
        v = value(product, field)
        total += taste.likes.get(field, {}).get(v, 0.0)
        total -= 1.0 if v in taste.dislikes.get(field, frozenset()) else 0.0
    return total / len(fields)


def relevant(query_type: str, gender: str, product: Mapping[str, object]) -> bool:
    """A test query's base relevance: the type asked for, for the shopper's gender (or unisex)."""
    return product.get("article_type") == query_type and product.get("gender") in (gender, "Unisex")


def personal_grade(query_type: str, taste: Taste, product: Mapping[str, object]) -> int:
    """1 for a relevant product, 2 if it fits the shopper, 0 if it clashes or is not relevant."""
    if not relevant(query_type, taste.gender, product):
        return 0
    f = fit(taste, product)
    return 2 if f >= FIT_MATCH else 0 if f <= FIT_CLASH else 1


def query_text(article_type: str, gender: str) -> str:
    """What a shopper types for a type: "watches for men"."""
    return f"{article_type.lower()} for {gender.lower()}"


def _weighted_pick(rng: np.random.Generator, counts: Counter, k: int, exclude: set[str] = frozenset()) -> list[str]:
    items = [(v, c) for v, c in counts.items() if v and v not in exclude]
    if not items:
        return []
    values, weights = zip(*items, strict=True)
    p = np.asarray(weights, dtype=float) / sum(weights)
    return list(rng.choice(values, size=min(k, len(values)), replace=False, p=p))


def draw_taste(rng: np.random.Generator, catalog: Sequence[Mapping[str, object]], gender: str | None = None) -> Taste:
    """A taste among products the catalog has plenty of: three types with at least 40 products of
    the gender, two liked and two disliked colours, a liked usage, two liked brands."""
    gender = gender or str(rng.choice(["Men", "Women"]))
    fitting = [p for p in catalog if p.get("gender") in (gender, "Unisex")]
    types = Counter(str(p["article_type"]) for p in fitting)
    common = Counter({t: c for t, c in types.items() if c >= 40})
    chosen = _weighted_pick(rng, common, 3)
    pool = [p for p in fitting if p["article_type"] in chosen]
    colours = Counter(value(p, "colour") for p in pool)
    liked_colours = _weighted_pick(rng, colours, 2)
    disliked = _weighted_pick(rng, colours, 2, exclude=set(liked_colours))
    usages = _weighted_pick(rng, Counter(value(p, "usage") for p in pool), 1)
    brands = _weighted_pick(rng, Counter(value(p, "brand") for p in pool), 2)

    def strengths(values: list[str]) -> dict[str, float]:
        return {v: float(rng.uniform(0.6, 1.0)) for v in values}

    likes = {"colour": strengths(liked_colours), "usage": strengths(usages), "brand": strengths(brands)}
    return Taste(gender, tuple(chosen), likes, {"colour": frozenset(disliked)})


def make_shoppers(catalog: Sequence[Mapping[str, object]], per_group: int, seed: int) -> list[Shopper]:
    """``per_group`` shoppers of each history length, and as many whose tastes drift, ids
    ``sim<seed>-<n>``; the same seed gives the same shoppers."""
    rng = np.random.default_rng(seed)
    shoppers = []
    for group in HISTORY_SESSIONS:
        for _ in range(per_group):
            taste = draw_taste(rng, catalog)
            later = taste
            if group == "drifting":  # same person, new colours and style
                drawn = draw_taste(rng, catalog, taste.gender)
                later = replace(
                    taste,
                    likes={**taste.likes, "colour": drawn.likes["colour"], "usage": drawn.likes["usage"]},
                    dislikes=drawn.dislikes,
                )
            shoppers.append(Shopper(f"sim{seed}-{len(shoppers)}", group, taste, later))
    return shoppers


def session_type(rng: np.random.Generator, taste: Taste) -> str:
    return str(rng.choice(list(taste.types)))


def browse(
    rng: np.random.Generator, taste: Taste, query_type: str, served: Sequence[Mapping[str, object]], noise: float = 0.1
) -> list[tuple[str, int]]:
    """The actions a shopper takes on a served page: (action, rank) in order. A product at rank r is
    examined with probability 1 / (r + 1) ** 0.8; an examined relevant product is clicked with a
    probability rising with its fit (``noise`` for anything else), carted at a fit above 0.25 half
    the time, and a cart is bought half the time; at most one purchase a session."""
    actions = []
    bought = False
    for rank, product in enumerate(served):
        if rng.random() >= 1.0 / (rank + 1) ** EXAMINE_DECAY:
            continue
        f = fit(taste, product) if relevant(query_type, taste.gender, product) else -1.0
        p_click = noise + (1 - 2 * noise) / (1 + math.exp(-6 * f)) if f > -1 else noise
        if rng.random() >= p_click:
            continue
        actions.append(("click", rank))
        if f >= FIT_MATCH and rng.random() < 0.5:
            actions.append(("add_to_cart", rank))
            if not bought and rng.random() < 0.5:
                actions.append(("purchase", rank))
                bought = True
    return actions


def held_out_types(rng: np.random.Generator, shopper: Shopper, count: int) -> list[str]:
    """Article types for the shopper's held-out queries (asked after their history)."""
    return [str(t) for t in rng.choice(list(shopper.later.types), size=count, replace=True)]

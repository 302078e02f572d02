"""Graded queries a catalog yields by itself: what the learned ranker trains on where no one has judged
anything and no shopper has clicked yet (a shop that has just run ``up --catalog``).

Each kind stands for a shopper intent, with the products it came from as its answers:

- ``attributes``: attribute values as shoppers type them ("black men's sports shoes"); graded as the
  dev judgments are: 2 for the type and every asked value (Unisex fits either gender), 1 for the type
  with one value off;
- ``described``: a colour, a word the titles use to describe products and a type ("white striped
  tshirts", "brown leather belts"): a title word no attribute value names and no title starts with
  (not a brand's), in at least MIN_DESCRIBING titles; 2 for the type, the colour and the word (any
  of its forms) in the title, 1 for the type with one of the two. A title that says the words in the
  query's very order (a "peach & white striped t-shirt") is not a white one: the ranker learns that
  a phrase in a title does not outweigh the product's own attributes;
- ``words``: the catalog words a title starts with that no attribute value names (a brand, a model
  name: "remanika", "mark taylor"), alone or with a product type; 2 for titles with those words (and
  the type, when asked), 1 for the type alone;
- ``title``: a product's name retyped (lower-cased, without its brand, a part of it, or with a slip of
  the fingers); 2 for that product (and any product with the very same title: nothing tells them apart);
- ``photo``: a product's photo as a phone would take it (cropped, mirrored, turned, re-lit, re-compressed);
  3 for that product, 2 for its type and colour, 1 for its type. A third of them are a product the shop
  does not carry: its photo as another shop lists it (the catalog photo itself, untouched), the product
  left out, graded by type and colour alone. A snapshot of a product the shop lacks would teach the
  ranker a look-alike search on photos no look-alike search sends: a clean product photo has closer
  neighbours (0.94 cosine at the median against 0.91 for a snapshot), and the ranker trained on snapshots
  alone took such close neighbours for the product itself (bench/README.md, relevance/ranker).

Nothing here reads judgments: the queries come from the catalog's titles, attribute values and photos.
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageEnhance

from hybrid_search.models.encoders.lexicon import Lexicon, tokens, word_forms

KINDS = ("attributes", "described", "words", "title", "photo")
GENDER_WORDS = {"Men": "men's", "Women": "women's", "Boys": "boys'", "Girls": "girls'", "Unisex": "unisex"}
MIN_SHARED = 3  # titles that must share a ``words`` query
MIN_DESCRIBING = 20  # titles that must use a ``described`` query's word
FITS = {"Men": ("Men", "Unisex"), "Women": ("Women", "Unisex")}  # the catalog's convention for "for everyone"


@dataclass(frozen=True)
class CatalogProduct:
    """What the generator reads of a product (``id`` as the index names it)."""

    id: str
    title: str
    article_type: str = ""
    colour: str = ""
    gender: str = ""
    usage: str = ""
    image_hash: str | None = None


@dataclass(frozen=True)
class SyntheticQuery:
    id: str
    kind: str
    text: str
    grades: dict[str, int]
    photo: bytes | None = None
    exclude: tuple[str, ...] = ()


def synthetic_queries(
    products: Sequence[CatalogProduct],
    lexicon: Lexicon,
    photo: Callable[[str], bytes],
    per_kind: Mapping[str, int],
    seed: int = 0,
) -> list[SyntheticQuery]:
    """``per_kind[kind]`` queries of each kind (fewer where the catalog has too few), each with a graded
    product; ``photo`` reads a photo's bytes by its hash."""
    rng = random.Random(seed)
    builders = {
        "attributes": _attributes,
        "described": _described,
        "words": _words,
        "title": _titles,
        "photo": _photos,
    }
    catalog = _Catalog(products, lexicon)
    out: list[SyntheticQuery] = []
    for kind in KINDS:
        for n, (text, grades, photo_bytes, exclude) in enumerate(
            builders[kind](catalog, rng, per_kind.get(kind, 0), photo)
        ):
            if any(g >= 2 for g in grades.values()):
                out.append(SyntheticQuery(f"synthetic-{kind}-{n:05d}", kind, text, grades, photo_bytes, exclude))
    return out


class _Catalog:
    def __init__(self, products: Sequence[CatalogProduct], lexicon: Lexicon) -> None:
        self.products = list(products)
        self.lexicon = lexicon
        self.by_type: dict[str, list[CatalogProduct]] = defaultdict(list)
        self.by_title: dict[str, list[str]] = defaultdict(list)
        self.tokens = {p.id: tokens(p.title) for p in self.products}
        self.with_token: dict[str, set[str]] = defaultdict(set)
        for pid, toks in self.tokens.items():
            for token in toks:
                self.with_token[token].add(pid)
        for p in self.products:
            self.by_type[p.article_type].append(p)
            self.by_title[p.title.lower().strip()].append(p.id)

    def leading_words(self, product: CatalogProduct) -> list[str]:
        """The catalog words a title starts with that no attribute value names (its brand, mostly)."""
        lead = []
        for token in self.tokens[product.id]:
            if token in self.lexicon.attribute_words or token not in self.lexicon.title_words:
                break
            lead.append(token)
        return lead[:3]

    def containing(self, words: Sequence[str]) -> list[str]:
        """Products whose title has ``words`` in a row."""
        n, words = len(words), list(words)
        return [
            pid
            for pid in sorted(self.with_token.get(words[0], ()))
            if any(self.tokens[pid][i : i + n] == words for i in range(len(self.tokens[pid]) - n + 1))
        ]


Built = tuple[str, dict[str, int], bytes | None, tuple[str, ...]]


def _graded_by_attributes(catalog: _Catalog, article_type: str, asked: Mapping[str, str]) -> dict[str, int]:
    grades = {}
    for p in catalog.by_type.get(article_type, ()):
        misses = sum(
            getattr(p, name) not in FITS.get(value, (value,)) if name == "gender" else getattr(p, name) != value
            for name, value in asked.items()
        )
        if misses <= 1:
            grades[p.id] = 2 - misses
    return grades


def _attributes(catalog: _Catalog, rng: random.Random, count: int, _: Callable) -> list[Built]:
    typed = [p for p in catalog.products if p.article_type and p.colour]
    out: list[Built] = []
    for _ in range(count if typed else 0):
        p = rng.choice(typed)
        asked = {"colour": p.colour} if rng.random() < 0.8 else {}
        if p.gender in GENDER_WORDS and rng.random() < 0.7:
            asked["gender"] = p.gender
        if p.usage and rng.random() < 0.15:
            asked["usage"] = p.usage
        parts = [asked.get("colour", ""), GENDER_WORDS.get(asked.get("gender", ""), ""), asked.get("usage", "")]
        text = " ".join(x for x in [*parts, p.article_type] if x).lower()
        out.append((text, _graded_by_attributes(catalog, p.article_type, asked), None, ()))
    return out


def _described(catalog: _Catalog, rng: random.Random, count: int, _: Callable) -> list[Built]:
    lexicon = catalog.lexicon
    leading = {p.id: set(catalog.leading_words(p)) for p in catalog.products}
    describing = {
        word
        for word, pids in catalog.with_token.items()
        if len(pids) >= MIN_DESCRIBING
        and word.isalpha()
        and word in lexicon.title_words
        and word not in lexicon.attribute_words
        and not any(word in leading[pid] for pid in pids)
    }
    with_word: dict[str, list[CatalogProduct]] = defaultdict(list)  # a word first: "dial" is not most of it
    for p in catalog.products:
        for word in sorted(set(catalog.tokens[p.id]) & describing) if p.article_type and p.colour else ():
            with_word[word].append(p)
    words = sorted(with_word)
    out: list[Built] = []
    for _ in range(count if words else 0):
        word = rng.choice(words)
        p = rng.choice(with_word[word])
        forms = word_forms(word)
        grades = {}
        for q in catalog.by_type[p.article_type]:
            matches = (q.colour == p.colour) + bool(forms & set(catalog.tokens[q.id]))
            if matches:
                grades[q.id] = matches
        out.append((f"{p.colour} {word} {p.article_type}".lower(), grades, None, ()))
    return out


def _words(catalog: _Catalog, rng: random.Random, count: int, _: Callable) -> list[Built]:
    leads: dict[tuple[str, ...], CatalogProduct] = {}
    for p in catalog.products:
        lead = catalog.leading_words(p)
        # the longest start that several titles share: a brand ("colorbar"), not one product's words
        shared = [lead[:n] for n in range(len(lead), 0, -1) if len(catalog.containing(lead[:n])) >= MIN_SHARED]
        if shared:
            leads.setdefault(tuple(shared[0]), p)
    choices = sorted(leads)
    out: list[Built] = []
    for words in rng.sample(choices, min(count, len(choices))):
        found = catalog.containing(words)
        if rng.random() < 0.6 or not leads[words].article_type:
            out.append((" ".join(words), dict.fromkeys(found, 2), None, ()))
            continue
        kind = leads[words].article_type
        grades = {p.id: 1 for p in catalog.by_type[kind]} | {
            pid: 2 for pid in found if pid in {p.id for p in catalog.by_type[kind]}
        }
        out.append((f"{' '.join(words)} {kind.lower()}", grades, None, ()))
    return out


def _titles(catalog: _Catalog, rng: random.Random, count: int, _: Callable) -> list[Built]:
    named = [p for p in catalog.products if len(catalog.tokens[p.id]) >= 3]
    out: list[Built] = []
    for n in range(count if named else 0):
        p = rng.choice(named)
        words = p.title.lower().split()
        lead = len(catalog.leading_words(p))
        form = n % 4
        if form == 1 and 0 < lead < len(words) - 1:
            words = words[lead:]  # without the brand
        elif form == 2 and len(words) > 4:
            size = rng.randint(3, min(5, len(words) - 1))
            start = rng.randrange(len(words) - size + 1)
            words = words[start : start + size]  # a part of it
        elif form == 3:
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            words[longest] = _slip(words[longest], rng)
        out.append((" ".join(words), dict.fromkeys(catalog.by_title[p.title.lower().strip()], 2), None, ()))
    return out


def _photos(catalog: _Catalog, rng: random.Random, count: int, photo: Callable[[str], bytes]) -> list[Built]:
    pictured = [p for p in catalog.products if p.image_hash and p.article_type]
    out: list[Built] = []
    for n in range(count if pictured else 0):
        p = rng.choice(pictured)
        grades = {q.id: 2 if q.colour == p.colour else 1 for q in catalog.by_type[p.article_type]}
        original = photo(p.image_hash or "")
        if n % 3 == 2:
            grades.pop(p.id)
            out.append(("", grades, original, (p.id,)))
        else:
            out.append(("", grades | {p.id: 3}, phone_snapshot(original, rng), ()))
    return out


def _slip(word: str, rng: random.Random) -> str:
    """``word`` with two adjacent letters after the first swapped, as thumbs do (unchanged if too short)."""
    spots = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1] and word[i : i + 2].isalpha()]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def phone_snapshot(data: bytes, rng: random.Random) -> bytes:
    """A product photo as a shopper's phone would take it: a crop of 70-95% of each side, maybe
    mirrored, turned a little, brighter or darker, re-compressed as a JPEG."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    w, h = int(width * rng.uniform(0.7, 0.95)), int(height * rng.uniform(0.7, 0.95))
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    image = image.crop((left, top, left + w, top + h))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = image.rotate(rng.uniform(-6, 6), fillcolor=(235, 235, 235))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    out = io.BytesIO()
    image.resize((width, height)).save(out, "JPEG", quality=rng.randint(70, 90))
    return out.getvalue()

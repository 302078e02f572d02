"""The catalog's own lexicon: words its titles use that no attribute value names.

Brands and model names ("levis", "mark taylor", "u.s. polo assn."), materials ("suede", "leather"),
patterns and styles ("striped", "floral", "wayfarer"): the attribute heads know article type,
colour, gender and usage and nothing of these, so a query that names one is only partly explained
by its attributes. Built from the catalog itself (no word lists, no judgments), so a brand the
judgments never saw is as known as any other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

TOKEN = re.compile(r"[a-z0-9]+(?:[.'&][a-z0-9]+)*")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "set",
        "pack",
        "pair",
        "pairs",
        "combo",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; a possessive ('men's') is the word itself, one letter is no word."""
    out = []
    for token in TOKEN.findall(text.lower()):
        token = token.removesuffix("'s")
        if len(token) > 1 and token not in STOPWORDS:
            out.append(token)
    return out


def word_forms(word: str) -> set[str]:
    """A word and its naive singular / plural forms (shirts, shirt; watches, watch; dress, dresses;
    woman, women)."""
    forms = {word, f"{word}s", f"{word}es"}
    if _irregular(word):
        forms.add(f"{word[:-2]}{'e' if word.endswith('man') else 'a'}n")
    for suffix in ("es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            forms.add(word[: -len(suffix)])
    return forms


def _irregular(word: str) -> bool:
    """Whether ``word``'s singular and plural differ inside the word (woman, women), where the
    English stemmer does not join them."""
    return word.endswith(("man", "men")) and len(word) > 2


def named_values(title: str, values: Sequence[str]) -> list[str]:
    """The values every word of whose name the title uses (any singular or plural form, and two
    words written together: "T-Shirt" names Tshirts); a name inside another the title names counts
    as that one (Navy Blue, not Blue; Tshirts, not Shirts)."""
    words = set(tokens(title))
    raw = TOKEN.findall(title.lower())
    words |= {first + second for first, second in zip(raw, raw[1:], strict=False)}
    named = [value for value in values if (parts := tokens(value)) and all(word_forms(part) & words for part in parts)]
    joined = {value: "".join(tokens(value)) for value in named}
    return [v for v in named if not any(v != w and joined[v] in joined[w] for w in named)]


@dataclass(frozen=True)
class Lexicon:
    title_words: frozenset[str]  # words at least ``min_titles`` titles use
    attribute_words: frozenset[str]  # every word of every attribute value, in its singular and plural forms

    def specific_words(self, text: str) -> list[str]:
        """The words of ``text`` the catalog's titles use and its attribute values do not, in order."""
        found = [t for t in tokens(text) if t in self.title_words and t not in self.attribute_words]
        return list(dict.fromkeys(found))

    def knows(self, word: str) -> bool:
        """Whether the catalog uses ``word`` (a token): in its titles or its attribute values."""
        return word in self.title_words or word in self.attribute_words

    def slips(self, text: str) -> frozenset[str]:
        """The words of ``text`` (split at spaces, as typed) that BM25 should match within an edit
        distance: those with a token the catalog does not use (a slip, a new brand, another
        language), and those whose plural the stemmer does not join to them (woman, women: one edit
        joins them; matched as typed, the rare form, a brand's "Arrow Woman", outscored every
        product of the common one: Spanish BM25 alone 0.557 -> 0.243 on the dev intents). The rest
        are the catalog's own words, spelled right."""
        return frozenset(
            word for word in text.split() if not all(self.knows(t) and not _irregular(t) for t in tokens(word))
        )

    def names_attribute(self, word: str) -> bool:
        """Whether ``word`` (a token) is a word of an attribute value: a colour, a product type, a gender.
        (Title words are too many to tell a sense by: brands make "Miss" and "Shoe" catalog words.)"""
        return word in self.attribute_words

    def to_json(self) -> dict[str, list[str]]:
        return {"title_words": sorted(self.title_words), "attribute_words": sorted(self.attribute_words)}

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[str]]) -> Lexicon:
        return cls(frozenset(data["title_words"]), frozenset(data["attribute_words"]))


def build_lexicon(products: Iterable[Mapping[str, object]], attributes: Sequence[str], min_titles: int = 2) -> Lexicon:
    """The lexicon of a catalog: title words used by at least ``min_titles`` products, and the words
    of the values of ``attributes`` (a value may be a string or a list, such as a category path)."""
    titles: Counter[str] = Counter()
    values: set[str] = set()
    for product in products:
        titles.update(set(tokens(str(product.get("title") or ""))))
        for name in attributes:
            value = product.get(name)
            for part in value if isinstance(value, list) else [value]:
                if part:
                    values.update(form for word in tokens(str(part)) for form in word_forms(word))
    return Lexicon(frozenset(w for w, n in titles.items() if n >= min_titles), frozenset(values))

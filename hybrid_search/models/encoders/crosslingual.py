"""Words of other languages read in the catalog's own: a query's words that the catalog never uses,
each mapped to the catalog's attribute value nearest to it in the multilingual text encoder's space.

Chinese has a dictionary (CC-CEDICT, ``dictionary.py``); Spanish, French, German, Japanese and the
rest have none that ships offline, but the text encoder (multilingual-e5) puts "zapatillas" beside
"sports shoes" and "schwarze" beside "black". So a word that no title and no attribute value uses
is replaced by the attribute value whose query vector is nearest to its own, where that value is
near enough and clearly nearer than the next one; the rest of the query stays as typed. BM25 then
finds the catalog's words, and the attribute heads read values they were trained on. Words alone:
runs of two or three ("gafas de sol") swallowed their neighbours ("grüne Herren" -> "green"). The
vocabulary is the catalog's attribute values, not its title words: a title word of one language
("femme", a brand) lies too close to many others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid_search.models.encoders.device import l2_normalise

PUNCTUATION = ".,;:!?()[]\"'“”«»"
MIN_COSINE = 0.9  # below it, most neighbours were wrong on the dev language queries
MIN_MARGIN = 0.02  # over the second nearest value: "para" lies as near "bra" as "party"
# A query in another language has several words the catalog does not use; one unknown word among
# known ones is a brand uploaded since the lexicon was built, a model name or a slip, kept as typed.
MIN_UNKNOWN = 2


@dataclass(frozen=True)
class Vocabulary:
    """The catalog's attribute values (lower-cased) and their query vectors, unit length."""

    values: tuple[str, ...]
    vectors: np.ndarray

    @classmethod
    def build(cls, values: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> Vocabulary:
        kept = sorted({v.lower() for v in values if v})
        return cls(tuple(kept), l2_normalise(np.asarray(encode(kept), dtype=np.float32)))

    def nearest(self, vectors: np.ndarray) -> list[tuple[str, float, float]]:
        """Per vector: its nearest value, that cosine, and how far it stands above the second nearest."""
        cosines = l2_normalise(np.asarray(vectors, dtype=np.float32)) @ self.vectors.T
        out = []
        for row in cosines:
            first, second = np.argsort(-row)[:2] if len(row) > 1 else (int(np.argmax(row)), None)
            margin = float(row[first] - row[second]) if second is not None else 1.0
            out.append((self.values[int(first)], float(row[first]), margin))
        return out


def gloss(
    text: str,
    known: Callable[[str], bool],
    vocabulary: Vocabulary,
    encode: Callable[[list[str]], np.ndarray],
    min_cosine: float = MIN_COSINE,
    min_margin: float = MIN_MARGIN,
) -> str:
    """``text`` with each unknown word (``known(word)`` is false: the catalog does not use it) that
    maps to an attribute value replaced by that value; the rest as typed. The text itself where
    nothing maps, or where fewer than ``MIN_UNKNOWN`` words are unknown."""
    words = text.split()
    unknown = [i for i, word in enumerate(words) if not known(word.lower().strip(PUNCTUATION))]
    if len(unknown) < MIN_UNKNOWN:
        return text
    found = vocabulary.nearest(encode([words[i] for i in unknown]))
    mapped = {
        i: value
        for i, (value, cosine, margin) in zip(unknown, found, strict=True)
        if cosine >= min_cosine and margin >= min_margin
    }
    return " ".join(mapped.get(i, word) for i, word in enumerate(words)) if mapped else text

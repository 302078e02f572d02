"""The legs a query can run, each defined once: the query input it reads, its DSL builder, its name.

A leg's name is what profiles weigh and explain shows. Adding a leg means adding it here (and a
field to ``QueryInputs`` if it reads something new); the engines, profiles and evaluation follow.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hybrid_search.models.encoders.dictionary import CJK_RUN
from hybrid_search.stores.opensearch.queries import (
    KNN_EF_SEARCH,
    build_attribute_query,
    build_bm25_query,
    build_knn_query,
    build_title_query,
)

if TYPE_CHECKING:  # the query side imports these anyway; profiles (which read LEG_NAMES) need not load torch
    import numpy as np

    from hybrid_search.models.encoders.attributes import Intent

# (input, filters, window, attribute weights, the query's inputs) -> query clause
Builder = Callable[[Any, dict[str, Any], int, Mapping[str, float], "QueryInputs"], dict[str, Any]]


@dataclass(frozen=True)
class QueryInputs:
    """What one query brings to its legs; None where it has no such input."""

    text: str | None = None  # what BM25 reads: the query text and, for Chinese, its English gloss
    typed: str | None = None  # the shopper's words alone, as typed (the title legs read them)
    text_vector: np.ndarray | None = None
    fused_vector: np.ndarray | None = None
    image_vector: np.ndarray | None = None
    intent: Intent | None = None  # the catalog attribute values the query asks for
    # the fields BM25 searches, at their boosts: the catalog schema's (None: the built-in ones)
    text_fields: tuple[str, ...] | None = None
    # the words of text and typed that may be slips (``Lexicon.slips``): the ones BM25 and the title
    # words leg match within an edit distance (None: no lexicon to tell, every word may be a slip)
    slips: frozenset[str] | None = None


@dataclass(frozen=True)
class Leg:
    name: str
    reads: str  # the QueryInputs field
    build: Builder

    def query(
        self, inputs: QueryInputs, filters: dict[str, Any], window: int, attribute_weights: Mapping[str, float]
    ) -> dict[str, Any] | None:
        """This leg's query clause for ``inputs`` (its ``window`` best hits), or None without its input."""
        value = getattr(inputs, self.reads)
        return None if value is None else self.build(value, filters, window, attribute_weights, inputs)


def _knn(field: str) -> Builder:
    return lambda vector, filters, window, _, __: build_knn_query(field, vector, window, filters, KNN_EF_SEARCH)


def _bm25(text: str, filters: dict[str, Any], _: int, __: Mapping[str, float], inputs: QueryInputs) -> dict[str, Any]:
    return build_bm25_query(text, filters, _typed(text), inputs.text_fields, inputs.slips)


def _attributes(
    intent: Intent, filters: dict[str, Any], _: int, weights: Mapping[str, float], __: Any
) -> dict[str, Any]:
    return build_attribute_query(intent, weights, filters)


def _title(phrase: bool) -> Builder:
    def build(
        text: str, filters: dict[str, Any], _: int, __: Mapping[str, float], inputs: QueryInputs
    ) -> dict[str, Any]:
        return build_title_query(text, filters, phrase, not phrase and _typed(text), inputs.slips)

    return build


def _typed(text: str) -> bool:
    """Typed words may slip; a Chinese query's dictionary gloss must not also drift (measured: bench/README)."""
    return not CJK_RUN.search(text)


LEGS: tuple[Leg, ...] = (
    Leg("bm25", "text", _bm25),
    Leg("text", "text_vector", _knn("text_vector")),
    Leg("fused", "fused_vector", _knn("fused_vector")),
    Leg("image", "image_vector", _knn("image_vector")),
    Leg("attributes", "intent", _attributes),
    Leg("title_words", "typed", _title(phrase=False)),
    Leg("title_phrase", "typed", _title(phrase=True)),
)
LEG_NAMES: tuple[str, ...] = tuple(leg.name for leg in LEGS)
LEGS_BY_NAME: dict[str, Leg] = {leg.name: leg for leg in LEGS}


def legs_reading(inputs: Collection[str]) -> set[str]:
    """The legs whose input is among ``inputs`` (QueryInputs field names)."""
    return {leg.name for leg in LEGS if leg.reads in inputs}


def ties_led_by(
    hits: Sequence[tuple[str, float]], leaders: Sequence[tuple[str, float]], size: int
) -> list[tuple[str, float]]:
    """A leg's best ``size`` hits where, among hits of equal score, ``leaders`` come first.

    ``leaders`` are hits of the same query over chosen documents (their scores are the leg's own).
    A leg of constant-score terms ties hundreds of products, and which of them its ``size`` best
    list is the index's document order; leading each tie with the products another leg found (a
    photo's look-alikes) lists those the other signals know, with no score changed."""
    led = {doc_id for doc_id, _ in leaders}
    merged = {doc_id: score for doc_id, score in (*leaders, *hits)}
    order = sorted(merged.items(), key=lambda hit: (-hit[1], hit[0] not in led))
    return order[:size]

"""Features of (query, candidate) pairs for the learned ranker, from what the legs already returned (pure).

A candidate is any product among the best ``depth`` hits of a leg. Per leg it gets whether the leg
found it, the leg's raw score, its score relative to the leg's best, its min-max place among the
leg's hits and its rank (tied hits share the first place of their tie: the order a search engine
lists a tie in is its document order, no signal). A product a leg missed scores there as its last
hit does and ranks below it: the leg ranked it lower than all it returned, and with the ranker's
monotone constraints no product gains by being missed (NaN, a learned direction, let a product no
photo matched outrank the photo's own product). Where the leg's list ended inside a tie, a product
it missed may be of the tie, and ranks with it. NaN only where the leg returned nothing. Per query each
leg's best score and how far its first hit stands above its second (a sharp first hit is a query
that names one product, a flat head a query that names a kind of product). Query features say what
kind of query it is: photo or text, words, script, how sure the attribute heads are, and how much
of it is catalog words that no attribute names (brands, model names). For a photo, each of the image
leg's first hits has its keypoint inliers with the query photo (``photo_match``): whether the photo is
*that* product's, which the image leg's cosine cannot tell from a look-alike. Nothing here reads a
title: every feature comes from the legs' (id, score) lists and the query's understanding, so scoring
adds no round trip to OpenSearch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.stores.opensearch.queries import WORDS

Intent = Mapping[str, Mapping[str, float]]
LegHits = Mapping[str, Sequence[tuple[str, float]]]

HEADS = ("article_type", "colour", "gender", "usage")
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_LATIN_EXTENDED = re.compile(r"[\u00c0-\u024f]")

# what the features mean, recorded with each ranker: 4 adds the photo match and takes a leg's margin
# below the tie at its top, 3 ranks a tie at its first place (2: in listed order), 2 is a missed
# product scored as the leg's last hit (1: NaN); a ranker trained on other features is not served
# (the fixed weights are)
FEATURE_VERSION = 4
PER_LEG = ("found", "score", "relative", "minmax", "rank")
PER_LEG_QUERY = ("ran", "top", "margin")
PHOTO_MATCH = "photo_match"  # the query photo's keypoint inliers with a candidate's (models/encoders/photo_match.py)
PER_MATCH = ("inliers", "share")
QUERY = (
    "photo",
    "words",
    "cjk",
    "kana",
    "latin_extended",
    "catalog_words",
    *(f"head_{name}" for name in HEADS),
    "legs_found",
    "photo_match",
)
FEATURE_NAMES: tuple[str, ...] = (
    *(f"{leg}.{name}" for leg in LEG_NAMES for name in (*PER_LEG, *PER_LEG_QUERY)),
    *(f"{PHOTO_MATCH}.{name}" for name in PER_MATCH),
    *(f"query.{name}" for name in QUERY),
)


@dataclass(frozen=True)
class QuerySignals:
    """What a query brings besides its legs' hits: the shopper's own text ('' for a photo), whether
    it is a photo (or a product to look like), the attribute values the heads read in it, and for a
    photo, its keypoint inliers with the photos of the image leg's first hits (doc id -> inliers), and
    whether it was read in another language (a translation of it is what the text legs read)."""

    text: str = ""
    photo: bool = False
    intent: Intent | None = None
    photo_matches: Mapping[str, int] | None = None
    foreign: bool = False


def candidates(legs: LegHits, depth: int) -> list[str]:
    """Every product among the best ``depth`` hits of any leg, by its best rank in any leg (then by
    leg order): the order a tie in learned scores falls back to."""
    best: dict[str, tuple[int, int]] = {}
    for order, leg in enumerate(LEG_NAMES):
        for rank, (doc_id, _) in enumerate(legs.get(leg, ())[:depth]):
            if doc_id not in best or (rank, order) < best[doc_id]:
                best[doc_id] = (rank, order)
    return sorted(best, key=best.__getitem__)


def query_features(signals: QuerySignals) -> dict[str, float]:
    """The ``query.*`` features that do not depend on the candidate."""
    words = _WORD.findall(signals.text.lower())
    intent = signals.intent or {}
    catalog_words = len(intent.get(WORDS, {}))
    heads = {
        f"head_{name}": max(intent[name].values(), default=math.nan) if intent.get(name) else math.nan for name in HEADS
    }
    return {
        "photo": float(signals.photo),
        "words": float(len(words)),
        "cjk": float(bool(_CJK.search(signals.text))),
        "kana": float(bool(_KANA.search(signals.text))),
        "latin_extended": float(bool(_LATIN_EXTENDED.search(signals.text))),
        "catalog_words": catalog_words / len(words) if words else 0.0,
        **heads,
    }


def feature_matrix(legs: LegHits, signals: QuerySignals, depth: int) -> tuple[list[str], np.ndarray]:
    """(candidate ids, their features as rows in ``FEATURE_NAMES`` order, float32; NaN where a leg
    returned nothing or a head read nothing)."""
    ids = candidates(legs, depth)
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    matrix = np.full((len(ids), len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    found = np.zeros(len(ids), dtype=np.float32)
    for leg in LEG_NAMES:
        hits = list(legs.get(leg, ()))[:depth]
        matrix[:, column[f"{leg}.ran"]] = float(leg in legs)
        if not hits:
            continue
        scores = np.array([score for _, score in hits], dtype=np.float64)
        top, low = scores[0], scores.min()
        matrix[:, column[f"{leg}.top"]] = top
        below = scores[scores < top]  # products that tie the first (one photo, two products) are one first place
        matrix[:, column[f"{leg}.margin"]] = (top - below[0]) / abs(top) if len(below) and top else 0.0
        tied = np.searchsorted(-scores, -scores, side="left") + 1  # a tie shares its first place
        rows = np.array([position[doc_id] for doc_id, _ in hits])
        rows, first = np.unique(rows, return_index=True)  # a leg lists a product once; keep its best
        scores, ranks = scores[first], tied[first]
        # missed: as low as the leg's last hit, ranked below it; but where the leg was cut inside a
        # tie (constant-score attribute terms tie hundreds), a missed product may be one of the tie:
        # it ranks with it, and only ``found`` says which of the tie the leg happened to list
        cut_in_tie = len(hits) == depth and len(hits) > 1 and hits[-1][1] == hits[-2][1]
        matrix[:, column[f"{leg}.found"]] = 0.0
        matrix[:, column[f"{leg}.score"]] = low
        matrix[:, column[f"{leg}.relative"]] = low / top if top else 0.0
        matrix[:, column[f"{leg}.minmax"]] = 1.0 if cut_in_tie and top == low else 0.0
        matrix[:, column[f"{leg}.rank"]] = np.log2(1 + tied[-1]) if cut_in_tie else np.log2(2 + depth)
        matrix[rows, column[f"{leg}.found"]] = 1.0
        matrix[rows, column[f"{leg}.score"]] = scores
        matrix[rows, column[f"{leg}.relative"]] = scores / top if top else 0.0
        matrix[rows, column[f"{leg}.minmax"]] = (scores - low) / (top - low) if top > low else 1.0
        matrix[rows, column[f"{leg}.rank"]] = np.log2(1 + ranks)
        found[rows] += 1
    for name, value in query_features(signals).items():
        matrix[:, column[f"query.{name}"]] = value
    matrix[:, column["query.legs_found"]] = found
    if signals.photo_matches is not None:  # verified: a candidate not among the matched has no inliers
        counts = np.array([signals.photo_matches.get(doc_id, 0) for doc_id in ids], dtype=np.float32)
        best = max(signals.photo_matches.values(), default=0)
        matrix[:, column[f"{PHOTO_MATCH}.inliers"]] = counts
        matrix[:, column[f"{PHOTO_MATCH}.share"]] = counts / best if best else 0.0
        matrix[:, column["query.photo_match"]] = best
    return ids, matrix

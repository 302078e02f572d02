"""Query understanding: which catalog attribute values (article type, colour, gender, usage) a query asks for.

Text queries: one softmax head per attribute over the text encoder's space, trained on the catalog
itself — each product's passage vector, its title encoded as a query, and short query-like strings
composed from its own attribute values — so any wording the encoder understands (synonyms, Chinese)
reaches the catalog's values without word lists. Photo queries: the attribute values of the
nearest catalog photos, weighted by similarity (k-NN voting; the query's own product is excluded
upstream). Either way the result is an ``Intent``: per attribute, a probability per value.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_search.models.encoders.crosslingual import Vocabulary
from hybrid_search.models.encoders.device import l2_normalise
from hybrid_search.models.encoders.lexicon import Lexicon

ATTRIBUTES = ("article_type", "colour", "gender", "usage")
# A head a catalog schema adds learns this class too: "the query names none of the field's values".
# Without it, the head would learn to guess a product's value from the rest of the query (a t-shirt's
# season), and every query would score that guess; with it, a query that names no value asks for none.
NAMES_NONE = "(none)"
Intent = dict[str, dict[str, float]]  # attribute -> value -> probability


@dataclass(frozen=True)
class AttributeHead:
    """A multinomial logistic regression: softmax(x @ coef.T + intercept) over ``classes``."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


class AttributeModel:
    """Per-attribute heads over the text space and the catalog's lexicon; ``version`` names the
    artifact (content hash)."""

    def __init__(
        self,
        heads: Mapping[str, AttributeHead],
        text_encoder: str,
        version: str,
        lexicon: Lexicon | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.heads = dict(heads)
        self.text_encoder = text_encoder
        self.version = version
        self.lexicon = lexicon
        self.vocabulary = vocabulary  # the heads' values in the text space: other languages' words map to them

    def word_intent(self, text: str) -> dict[str, float]:
        """The catalog words of ``text`` that no attribute value names, each an equal share of one
        (a product whose title has them all scores the full weight of ``words``)."""
        words = self.lexicon.specific_words(text) if self.lexicon else []
        return {word: round(1 / len(words), 4) for word in words}

    def text_intent(self, vector: np.ndarray, top: int = 3, min_probability: float = 0.05) -> Intent:
        x = l2_normalise(np.asarray(vector, dtype=np.float32)[None, :])
        return {
            name: _top_values(head.classes, head.probabilities(x)[0], top, min_probability)
            for name, head in self.heads.items()
        }

    def canonical(self, intent: Intent) -> Intent:
        """``intent`` with each value spelled as the catalog spells it (doc values are lower-cased by
        the keyword normaliser); values the heads do not know are kept as they are."""
        spelled = {name: {c.lower(): c for c in head.classes} for name, head in self.heads.items()}
        return {
            name: {spelled.get(name, {}).get(value.lower(), value): p for value, p in values.items()}
            for name, values in intent.items()
        }

    def save(self, directory: Path) -> Path:
        arrays: dict[str, np.ndarray] = {}
        meta: dict = {"text_encoder": self.text_encoder, "created_at": datetime.now(UTC).isoformat(), "heads": {}}
        for name, head in self.heads.items():
            arrays[f"{name}.coef"] = head.coef
            arrays[f"{name}.intercept"] = head.intercept
            meta["heads"][name] = list(head.classes)
        if self.lexicon is not None:
            meta["lexicon"] = self.lexicon.to_json()
        if self.vocabulary is not None:
            meta["vocabulary"] = list(self.vocabulary.values)
            arrays["vocabulary.vectors"] = self.vocabulary.vectors
        digest = hashlib.sha256(json.dumps([meta["heads"], meta.get("lexicon")], sort_keys=True).encode())
        for key in sorted(arrays):
            digest.update(arrays[key].tobytes())
        path = directory / f"attributes-{digest.hexdigest()[:10]}.npz"
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
        return path


def load_attribute_model(path: Path) -> AttributeModel:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        heads = {
            name: AttributeHead(tuple(classes), data[f"{name}.coef"], data[f"{name}.intercept"])
            for name, classes in meta["heads"].items()
        }
        vocabulary = (
            Vocabulary(tuple(meta["vocabulary"]), data["vocabulary.vectors"]) if "vocabulary" in meta else None
        )  # artifacts from before other languages
    lexicon = Lexicon.from_json(meta["lexicon"]) if "lexicon" in meta else None  # artifacts before the lexicon
    return AttributeModel(heads, meta["text_encoder"], path.stem.removeprefix("attributes-"), lexicon, vocabulary)


def resolve_attribute_model(spec: str, models_dir: Path) -> Path | None:
    """``latest`` (the newest artifact in ``models_dir``, if any), ``none``, or a path."""
    if spec == "none":
        return None
    if spec != "latest":
        return Path(spec)
    found = sorted(models_dir.glob("attributes-*.npz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def photo_intent(
    neighbours: Sequence[tuple[Mapping[str, str], float]],
    temperature: float = 0.0,
    top: int = 3,
    min_probability: float = 0.05,
) -> Intent:
    """Votes of the nearest products' attribute values, each weighted by its score, or by
    exp((score - best) / temperature) when a temperature is given (closer neighbours count more)."""
    intent: Intent = {}
    if not neighbours:
        return intent
    best = max(score for _, score in neighbours)
    weights = [
        math.exp((score - best) / temperature) if temperature > 0 else max(score, 0.0) for _, score in neighbours
    ]
    total = sum(weights)
    if not total:
        return intent
    for name in ATTRIBUTES:
        votes: dict[str, float] = {}
        for (source, _), weight in zip(neighbours, weights, strict=True):
            value = source.get(name)
            if value:
                votes[value] = votes.get(value, 0.0) + weight / total
        classes = tuple(votes)
        intent[name] = _top_values(classes, np.array([votes[c] for c in classes]), top, min_probability)
    return intent


def merge_intents(intents: Sequence[Intent], top: int = 3) -> Intent:
    """The mean of several intents (e.g. votes from two neighbourhoods), top values per attribute."""
    merged: Intent = {}
    for intent in intents:
        for name, values in intent.items():
            slot = merged.setdefault(name, {})
            for value, probability in values.items():
                slot[value] = slot.get(value, 0.0) + probability / len(intents)
    return {
        name: {v: round(p, 4) for v, p in sorted(values.items(), key=lambda kv: -kv[1])[:top]}
        for name, values in merged.items()
    }


def _top_values(classes: Sequence[str], p: np.ndarray, top: int, min_probability: float) -> dict[str, float]:
    order = np.argsort(-p, kind="stable")[:top]
    return {classes[i]: round(float(p[i]), 4) for i in order if p[i] >= min_probability and classes[i] != NAMES_NONE}


def names(text: str, value: str) -> bool:
    """Whether ``text`` names ``value`` (as whole words, whatever the case): what a head a catalog
    schema adds is taught to tell."""
    return re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", text.lower()) is not None


DECLARED_SHARE = 0.4  # of the query-like strings, the share naming each of the schema's own heads' values


def query_like_strings(
    products: Sequence[Mapping[str, str]], count: int, seed: int = 0, declared: Sequence[str] = ()
) -> list[tuple[str, int]]:
    """Short strings in the shape shoppers type, built from real products' own attribute values (and
    the values of the heads a catalog schema adds, ``declared``, before the type: "oak table").

    Returns (text, product position) pairs, so each string is labelled with that product's values.
    """
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        i = rng.randrange(len(products))
        p = products[i]
        parts = [p.get("colour") if rng.random() < 0.8 else "", p.get("gender") if rng.random() < 0.7 else ""]
        parts += [p.get("usage") if rng.random() < 0.2 else ""]
        parts += [p.get(name) if rng.random() < DECLARED_SHARE else "" for name in declared]
        parts += [p.get("article_type", "")]
        text = " ".join(x for x in parts if x)
        if text:
            out.append((text, i))
    return out


MIN_PER_VALUE = 30  # products a sample keeps of each value (all where fewer), so a rare type still trains


def stratified_sample(products: Sequence[Mapping[str, Any]], key: str, size: int, seed: int = 0) -> np.ndarray:
    """Positions of about ``size`` of ``products`` (all, where there are no more), each value of ``key``
    keeping its share of them and at least MIN_PER_VALUE: what the heads train on, so a catalog of a
    million products trains them in the time of a sample's encoding, and a type with 40 products
    keeps them."""
    if size >= len(products):
        return np.arange(len(products))
    rng = np.random.default_rng(seed)
    groups: dict[Any, list[int]] = {}
    for i, p in enumerate(products):
        groups.setdefault(p.get(key) or "", []).append(i)
    share = size / len(products)
    chosen = []
    for value in sorted(groups, key=str):
        members = np.array(groups[value])
        keep = min(len(members), max(MIN_PER_VALUE, round(len(members) * share)))
        chosen.append(rng.choice(members, size=keep, replace=False))
    return np.sort(np.concatenate(chosen))


def train_attribute_model(
    vectors: np.ndarray,
    labels: Mapping[str, Sequence[str]],
    text_encoder: str,
    regularisation: float = 10.0,
    max_iter: int = 300,
    lexicon: Lexicon | None = None,
) -> AttributeModel:
    """Fit one multinomial logistic head per attribute on L2-normalised text vectors (empty labels dropped)."""
    heads = {}
    for name, values in labels.items():
        y = np.asarray(values)
        keep = y != ""
        if len(set(y[keep])) < 2:
            continue
        heads[name] = fit_head(np.asarray(vectors)[keep], y[keep], regularisation, max_iter)
    return AttributeModel(heads, text_encoder, version="unsaved", lexicon=lexicon)


def fit_head(
    vectors: np.ndarray, labels: Sequence[str], regularisation: float = 10.0, max_iter: int = 300
) -> AttributeHead:
    """A multinomial logistic head over L2-normalised ``vectors`` (two or more distinct labels)."""
    from sklearn.linear_model import LogisticRegression

    x = l2_normalise(np.asarray(vectors, dtype=np.float32))
    model = LogisticRegression(C=regularisation, max_iter=max_iter).fit(x, np.asarray(labels))
    coef, intercept = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes; expand to a softmax pair
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    return AttributeHead(tuple(str(c) for c in model.classes_), coef, intercept.astype(np.float32))

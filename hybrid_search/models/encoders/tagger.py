"""Auto-tagging: the catalog attribute values a product lacks, predicted from its photo and its title.

One tagger per categorical attribute (article type, colour, gender, usage, season), trained on the
products that have it, from the vectors the workers already compute: the photo's (the image
encoder's) and the title's (the text encoder's passage vector). Per attribute one multinomial
logistic head per input; a product with both gets their log-probabilities added, each weighted
(a product of experts, the weight chosen on held-out products). The title head reads the title's
words too: which of the attribute's values the title names ("Sweater" and "Sweatshirt" embed close
together; the head learns how far to trust a name, since a catalog may file "Flats" as heels).
Each head's probabilities are calibrated by a temperature fitted on out-of-fold predictions, and
each input abstains below a confidence threshold chosen there for a precision target: "not sure"
is an answer, and a tag is given only above it. Pure: arrays in, arrays out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hybrid_search.models.encoders.attributes import AttributeHead, fit_head
from hybrid_search.models.encoders.device import l2_normalise
from hybrid_search.models.encoders.lexicon import named_values

INPUTS = ("photo", "title", "both")  # what a product brings: a photo, a title, or both
TEMPERATURES = np.geomspace(0.1, 10.0, 41)
WEIGHTS = np.linspace(0.0, 1.0, 11)  # the photo's share of a product with both
REGULARISATION = {"title": 10.0, "photo": 3.0}  # logistic regression's C per input
UNSEEN = 20.0  # how far below the lowest bias a value a head never saw is put
MIN_EXAMPLES = 5  # a value with fewer labelled products is not learned (nor predicted)
PRECISION_Z = 1.645  # a threshold keeps its precision target at this one-sided confidence (95%)


@dataclass(frozen=True)
class Calibrated:
    """A head's calibration and abstention: probabilities ``softmax(logits / temperature)``, a tag
    only at ``threshold`` or above, where held-out products were right ``precision`` of the time."""

    temperature: float
    threshold: float
    precision: float
    coverage: float
    ece: float


@dataclass(frozen=True)
class AttributeTagger:
    """The tagger of one attribute: a head per input, the photo's weight for a product with both,
    and per input its calibration."""

    attribute: str
    photo: AttributeHead | None
    title: AttributeHead | None
    photo_weight: float
    calibration: dict[str, Calibrated] = field(default_factory=dict)
    source: str = "labels"  # what it learned from: merchants' labels, or "zero-shot" (value names)
    names: tuple[str, ...] = ()  # the values whose naming in a title the title head reads

    @property
    def classes(self) -> tuple[str, ...]:
        head = self.title or self.photo
        return head.classes if head is not None else ()

    def probabilities(
        self, title: np.ndarray | None, photo: np.ndarray | None, text: str = ""
    ) -> tuple[np.ndarray, str]:
        """Calibrated probabilities over ``classes`` for one product's title and photo vectors (either
        may be None) and its title's ``text``, and which input they came from."""
        kind = _kind(title is not None and self.title is not None, photo is not None and self.photo is not None)
        if kind is None:
            return np.zeros(len(self.classes), dtype=np.float32), ""
        if title is not None and self.names:
            title = title_features(title[None, :], [text], self.names)[0]
        logp = self._log_probabilities(kind, title, photo)
        p = np.exp(logp - logp.max())
        return p / p.sum(), kind

    def tag(self, title: np.ndarray | None, photo: np.ndarray | None, text: str = "") -> tuple[str, float, str] | None:
        """(value, confidence, input) where the tagger is sure enough; None where it abstains."""
        p, kind = self.probabilities(title, photo, text)
        if not kind:
            return None
        best = int(p.argmax())
        if p[best] < self.calibration[kind].threshold:
            return None
        return self.classes[best], float(p[best]), kind

    def _log_probabilities(self, kind: str, title: np.ndarray | None, photo: np.ndarray | None) -> np.ndarray:
        parts = []
        if kind in ("title", "both"):
            parts.append(("title", self.title, title, 1.0 - self.photo_weight if kind == "both" else 1.0))
        if kind in ("photo", "both"):
            parts.append(("photo", self.photo, photo, self.photo_weight if kind == "both" else 1.0))
        total = np.zeros(len(self.classes), dtype=np.float64)
        for name, head, vector, weight in parts:
            assert head is not None and vector is not None
            temperature = self.calibration[name].temperature if name in self.calibration else 1.0
            total += weight * log_softmax(_logits(head, vector[None, :])[0] / temperature)
        if kind == "both" and "both" in self.calibration:
            total = log_softmax(total / self.calibration["both"].temperature)
        return total


def title_features(vectors: np.ndarray, texts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """The title head's input: the title's (unit) vector, then 1 for each of ``names`` it names."""
    named = np.zeros((len(texts), len(names)), dtype=np.float32)
    at = {name: i for i, name in enumerate(names)}
    for row, text in enumerate(texts):
        for name in named_values(text, names):
            named[row, at[name]] = 1.0
    return np.hstack([l2_normalise(np.asarray(vectors, dtype=np.float32)), named])


def _kind(title: bool, photo: bool) -> str | None:
    return "both" if title and photo else "title" if title else "photo" if photo else None


def _logits(head: AttributeHead, x: np.ndarray) -> np.ndarray:
    return l2_normalise(np.asarray(x, dtype=np.float32)) @ head.coef.T + head.intercept


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class HeldOut:
    """Out-of-fold predictions of one input for the labelled products it covers: each product's
    row, its true class index, and the log-probabilities over the tagger's classes."""

    rows: np.ndarray
    truth: np.ndarray
    logp: np.ndarray


def fit_tagger(
    attribute: str,
    labels: Sequence[str],
    titles: np.ndarray,
    photos: np.ndarray,
    has_photo: np.ndarray,
    target_precision: float = 0.9,
    folds: int = 3,
    seed: int = 0,
    regularisation: Mapping[str, float] | None = None,
    texts: Sequence[str] | None = None,
    precision_z: float | None = PRECISION_Z,
) -> tuple[AttributeTagger, dict[str, HeldOut]]:
    """Train ``attribute``'s tagger on the products whose label is not '' (values with fewer than
    ``MIN_EXAMPLES`` products left out), calibrate and set its thresholds on ``folds``-fold
    out-of-fold predictions; returns it with those held-out predictions (for reports). With the
    titles' ``texts``, the title head also reads which values each title names. ``precision_z``: the
    confidence of the precision bound (``threshold_for``; None: the observed precision). The photo
    head is regularised harder by default (``REGULARISATION``): 1,280 dimensions, fewer products."""
    strength = {**REGULARISATION, **(regularisation or {})}
    y = np.asarray(labels, dtype=object)
    values, counts = np.unique(y[y != ""], return_counts=True)
    classes = tuple(str(v) for v, n in zip(values, counts, strict=True) if n >= MIN_EXAMPLES)
    if len(classes) < 2:
        raise ValueError(f"{attribute}: fewer than two values with {MIN_EXAMPLES} labelled products")
    index = {value: i for i, value in enumerate(classes)}
    labelled = np.array([value in index for value in y])
    truth = np.array([index.get(value, -1) for value in y])
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    names = classes if texts is not None else ()
    if names:
        titles = title_features(titles, texts, names)
    inputs = {"title": (titles, labelled), "photo": (photos, labelled & has_photo)}
    heads: dict[str, AttributeHead] = {}
    held: dict[str, HeldOut] = {}
    for name, (x, rows) in inputs.items():
        if len({int(t) for t in truth[rows]}) < 2:
            continue
        heads[name] = _aligned(fit_head(x[rows], y[rows], strength[name]), classes)
        logits = np.full((len(y), len(classes)), np.nan, dtype=np.float32)
        for k in range(folds):
            train, test = rows & (fold != k), rows & (fold == k)
            if test.any() and len({int(t) for t in truth[train]}) >= 2:
                logits[test] = _logits(_aligned(fit_head(x[train], y[train], strength[name]), classes), x[test])
        scored = rows & ~np.isnan(logits).any(axis=1)
        held[name] = HeldOut(np.flatnonzero(scored), truth[scored], logits[scored])
    calibration = {}
    for name, out in held.items():
        temperature = best_temperature(out.logp, out.truth)
        held[name] = HeldOut(out.rows, out.truth, log_softmax(out.logp / temperature))
        calibration[name] = _calibrated(temperature, held[name], target_precision, precision_z)
    weight = 0.0 if "photo" not in held else 1.0 if "title" not in held else 0.5
    if "photo" in held and "title" in held:
        both = np.intersect1d(held["photo"].rows, held["title"].rows)
        if len(both):
            at_p = {r: i for i, r in enumerate(held["photo"].rows)}
            at_t = {r: i for i, r in enumerate(held["title"].rows)}
            lp = held["photo"].logp[[at_p[r] for r in both]]
            lt = held["title"].logp[[at_t[r] for r in both]]
            t = truth[both]
            weight = min(WEIGHTS, key=lambda w: _nll(w * lp + (1 - w) * lt, t))
            mixed = log_softmax(weight * lp + (1 - weight) * lt)
            temperature = best_temperature(mixed, t)
            held["both"] = HeldOut(both, t, log_softmax(mixed / temperature))
            calibration["both"] = _calibrated(temperature, held["both"], target_precision, precision_z)
    tagger = AttributeTagger(
        attribute, heads.get("photo"), heads.get("title"), float(weight), calibration, names=tuple(names)
    )
    return tagger, held


def _aligned(head: AttributeHead, classes: Sequence[str]) -> AttributeHead:
    """``head`` over ``classes`` in that order; a class it never saw gets a bias far below the
    lowest it learned (no chance, yet a finite log-probability for the calibration to read)."""
    at = {value: i for i, value in enumerate(head.classes)}
    coef = np.zeros((len(classes), head.coef.shape[1]), dtype=np.float32)
    intercept = np.full(len(classes), float(head.intercept.min()) - UNSEEN, dtype=np.float32)
    for i, value in enumerate(classes):
        if value in at:
            coef[i], intercept[i] = head.coef[at[value]], head.intercept[at[value]]
    return AttributeHead(tuple(classes), coef, intercept)


def _nll(logits: np.ndarray, truth: np.ndarray) -> float:
    return float(-log_softmax(logits)[np.arange(len(truth)), truth].mean())


def best_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises held-out negative log-likelihood (a grid: one parameter)."""
    return float(min(TEMPERATURES, key=lambda t: _nll(logits / t, truth)))


def _calibrated(temperature: float, held: HeldOut, target: float, z: float | None) -> Calibrated:
    confidence = np.exp(held.logp.max(axis=1))
    correct = held.logp.argmax(axis=1) == held.truth
    threshold, precision, coverage = threshold_for(confidence, correct, target, z)
    return Calibrated(temperature, threshold, precision, coverage, expected_calibration_error(confidence, correct))


def threshold_for(
    confidence: np.ndarray, correct: np.ndarray, target: float, z: float | None = PRECISION_Z
) -> tuple[float, float, float]:
    """The lowest confidence whose tags (all at or above it) are right at least ``target`` of the
    time with one-sided confidence ``z`` (the Wilson lower bound of their precision; 95% by default),
    which tags the most products at that precision: (threshold, precision, coverage). The bound, not
    the observed precision (``z=None``): the largest set that happens to reach the target on these
    products falls short of it on fresh ones about half the time. Where no threshold reaches the
    target, one above every confidence (the tagger always abstains)."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    kept = np.arange(1, len(order) + 1)
    precision = hits / kept if z is None else wilson_lower_bound(hits, kept, z)
    reached = np.flatnonzero(precision >= target)
    if not len(reached):
        return 1.01, 0.0, 0.0
    threshold = float(confidence[order][int(reached[-1])])
    above = confidence >= threshold
    return threshold, float(correct[above].mean()), float(above.mean())


def wilson_lower_bound(hits: np.ndarray, n: np.ndarray, z: float = PRECISION_Z) -> np.ndarray:
    """The lower end of the Wilson score interval of a proportion ``hits / n`` (one-sided, ``z``)."""
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """The confidence-weighted gap between how sure the tagger was and how often it was right."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """Per confidence bin (with products in it): the mean confidence, the accuracy and the count."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [
        (float(confidence[which == b].mean()), float(correct[which == b].mean()), int((which == b).sum()))
        for b in range(bins)
        if (which == b).any()
    ]


def tags_for(
    taggers: Mapping[str, AttributeTagger],
    product: Mapping[str, object],
    title: np.ndarray | None,
    photo: np.ndarray | None,
    version: str,
) -> dict[str, dict[str, object]]:
    """A product's ``tags`` field: for each attribute it lacks (no value in ``product``) that a tagger
    is sure of, the value, its confidence, the input it came from and the taggers' version. ``title``
    and ``photo`` are its vectors; the title head also reads ``product``'s title."""
    tags: dict[str, dict[str, object]] = {}
    text = str(product.get("title") or "")
    for name, tagger in taggers.items():
        if not product.get(name) and (tagged := tagger.tag(title, photo, text)) is not None:
            value, confidence, kind = tagged
            tags[name] = {"value": value, "confidence": round(confidence, 4), "input": kind, "tagger": version}
    return tags


def save_taggers(taggers: Mapping[str, AttributeTagger], directory: Path) -> Path:
    """The taggers as one artifact, ``tagger-<content hash>.npz``."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, dict] = {}
    for name, tagger in taggers.items():
        meta[name] = {
            "classes": list(tagger.classes),
            "photo_weight": tagger.photo_weight,
            "calibration": {kind: asdict(c) for kind, c in tagger.calibration.items()},
            "inputs": [kind for kind in ("photo", "title") if getattr(tagger, kind) is not None],
            "source": tagger.source,
            "names": list(tagger.names),
        }
        for kind in meta[name]["inputs"]:
            head: AttributeHead = getattr(tagger, kind)
            arrays[f"{name}.{kind}.coef"], arrays[f"{name}.{kind}.intercept"] = head.coef, head.intercept
    text = json.dumps(meta, sort_keys=True)
    digest = hashlib.sha256(text.encode())
    for key in sorted(arrays):
        digest.update(arrays[key].tobytes())
    path = directory / f"tagger-{digest.hexdigest()[:10]}.npz"
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(path, meta=np.array(text), **arrays)
    return path


def load_taggers(path: Path) -> dict[str, AttributeTagger]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        heads = {
            (name, kind): AttributeHead(
                tuple(spec["classes"]), data[f"{name}.{kind}.coef"], data[f"{name}.{kind}.intercept"]
            )
            for name, spec in meta.items()
            for kind in spec["inputs"]
        }
    return {
        name: AttributeTagger(
            name,
            heads.get((name, "photo")),
            heads.get((name, "title")),
            spec["photo_weight"],
            {kind: Calibrated(**c) for kind, c in spec["calibration"].items()},
            spec.get("source", "labels"),
            tuple(spec.get("names", ())),
        )
        for name, spec in meta.items()
    }

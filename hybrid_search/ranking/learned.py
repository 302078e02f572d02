"""The learned ranker: LambdaMART (LightGBM) over the legs' features, which learns per query which leg
to trust, as OpenSearch's LTR plugin, Elasticsearch and Vespa rank a first phase's candidates.

The fixed-weight profiles weigh every query of a class alike; a brand typed alone, a product's name
and a phone snapshot each need another leg. The ranker sees each leg's scores beside what kind of
query it is (``features.py``) and is trained on graded queries: those a catalog yields by itself
(``evaluation/synthetic.py``), judged lists, or clicks. Scores are LightGBM's; a query's candidates
are returned with their learned score min-max scaled into [0, 1] (what the per-user rerank adds
its boost to, as it does to a blended score), exact ties falling back to the candidates' best leg
rank. ``explain`` gives each feature's SHAP value (LightGBM's ``pred_contrib``, Lundberg et al.'s
TreeSHAP), summed per leg beside the query's own features.

Photo queries (and "more like this") get a model of their own: a photo's legs mean other things
than a text's (its attributes leg is its nearest products' votes), and one model for both traded
snapshots for text intents (measured: bench/README.md, relevance/ranker).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_search.querying.legs import LEG_NAMES
from hybrid_search.ranking.combine import Combined, LegScore
from hybrid_search.ranking.features import FEATURE_NAMES, FEATURE_VERSION, LegHits, QuerySignals, feature_matrix

TEXT, PHOTO = "text", "photo"  # the ranker's models, by kind of query
DEPTH = 50  # each leg's best hits that make the candidates (serving and training alike)
# a query read in another language: its attributes leg's weight beside the learned score (chosen
# leaving one language out, over Spanish, French, German, Japanese and known items, two seeds: bench/README)
FOREIGN_ATTRIBUTES = 4.0
# The legs a model does without: text queries' fused leg added nothing the other legs do not, and
# costs a k-NN search a query (bench/README, relevance/zh_chars). A text model that also ranks photo
# queries (a catalog without photos trains no photo model) keeps it: it is their main leg.
SKIPPED = {TEXT: ("fused",)}
LABEL_GAIN = (0, 1, 3, 7)  # 2^grade - 1, as nDCG@10 counts the judgments' grades
# More of a leg's score never makes a product less relevant (rank: fewer is better): a constraint
# that keeps what the ranker learns from some queries from turning against a leg on others.
MONOTONE = {"found": 1, "score": 1, "relative": 1, "minmax": 1, "rank": -1, "inliers": 1, "share": 1}


@dataclass(frozen=True)
class Ranking:
    """One query's candidates ranked by the learned ranker, with what ``explain`` needs."""

    hits: list[Combined]
    raw: dict[str, float]  # doc id -> the booster's score
    rows: dict[str, np.ndarray]  # doc id -> its feature row
    model: str = TEXT  # which of the ranker's models ranked it
    # a query read in another language: doc id -> what its attributes leg adds, in units of the
    # query's spread of learned scores (``LearnedRanker.rank``)
    foreign_lift: dict[str, float] = field(default_factory=dict)


def query_model(signals: QuerySignals) -> str:
    """Which model ranks a query: photos and "more like this" apart from text."""
    return PHOTO if signals.photo else TEXT


class LearnedRanker:
    """Trained LightGBM boosters, one per kind of query (``query_model``), with the features and the
    legs they read (``reads``, by model; every leg where it does not say) and the candidate depth they
    were trained at. A kind without a model of its own (a catalog with no photos) is ranked by the other."""

    def __init__(
        self,
        models: dict[str, str],
        features: Sequence[str],
        depth: int,
        version: str,
        meta: dict[str, Any],
        feature_version: int = FEATURE_VERSION,
        reads: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        import lightgbm

        unknown = [name for name in features if name not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"the ranker reads features this code does not compute: {unknown[:3]}")
        if not models:
            raise ValueError("a ranker needs a model")
        self.boosters = {kind: lightgbm.Booster(model_str=model) for kind, model in models.items()}
        self.features = tuple(features)
        self.columns = [FEATURE_NAMES.index(name) for name in features]
        self.depth = depth
        self.feature_version = feature_version
        self.reads = {kind: tuple((reads or {}).get(kind, LEG_NAMES)) for kind in self.boosters}
        self.version = version
        self.meta = meta

    def _model(self, kind: str) -> str:
        return kind if kind in self.boosters else next(iter(self.boosters))

    def legs_for(self, photo: bool) -> tuple[str, ...]:
        """The legs a query is ranked from (a photo or "more like this" with ``photo``): what /search runs."""
        return self.reads[self._model(PHOTO if photo else TEXT)]

    def scores(self, matrix: np.ndarray, kind: str = TEXT) -> np.ndarray:
        """The ``kind`` model's score per row (rows in ``FEATURE_NAMES`` order)."""
        if not len(matrix):
            return np.zeros(0)
        return self.boosters[self._model(kind)].predict(matrix[:, self.columns], num_threads=1)

    def rank(self, legs: LegHits, signals: QuerySignals, foreign_attributes: float = FOREIGN_ATTRIBUTES) -> Ranking:
        """The union of the legs' best ``depth`` hits, best first.

        A query read in another language (``signals.foreign``) adds ``foreign_attributes`` times its
        attributes leg's score (scaled to the leg's best hit) to the learned score (in units of the
        query's spread of learned scores): its text legs read a translation, which the ranker,
        trained on the catalog's own words, trusts as it trusts English (a French "baskets" glossed as
        baskets finds handbags), where the heads read the attribute words the translation names
        (bench/README, relevance/ranker). Not where a title holds the query as typed (the title
        phrase leg found one): a product named in another language ("Zapato Del Barco") is the
        catalog's own words, and the shopper wants that product."""
        model = self._model(query_model(signals))
        legs = {leg: hits for leg, hits in legs.items() if leg in self.reads[model]}
        ids, matrix = feature_matrix(legs, signals, self.depth)
        raw = self.scores(matrix, model)
        foreign = signals.foreign and not legs.get("title_phrase")
        attributes = dict(legs.get("attributes", ())) if foreign else {}
        top = max(attributes.values(), default=0.0)
        lift = {doc_id: foreign_attributes * attributes.get(doc_id, 0.0) / top for doc_id in ids} if top > 0 else {}
        combined = raw + np.array([lift[doc_id] for doc_id in ids]) * (_spread(raw) or 1.0) if lift else raw
        order = sorted(range(len(ids)), key=lambda i: -combined[i])  # stable: ties keep the candidates' order
        low, spread = (float(combined.min()) if len(ids) else 0.0), _spread(combined)
        leg_scores = _leg_scores(legs, self.depth)
        hits = []
        for place, i in enumerate(order):
            # scaled into [0, 1]; a tie is broken by the candidates' order, a step far below any learned difference
            scaled = (combined[i] - low) / spread if spread else 1.0
            score = float(scaled) - place * 1e-9
            legs_of = {leg: found[ids[i]] for leg, found in leg_scores.items() if ids[i] in found}
            hits.append(Combined(ids[i], score, legs_of))
        raws, rows = {ids[i]: float(raw[i]) for i in order}, {ids[i]: matrix[i] for i in order}
        return Ranking(hits, raws, rows, model, {ids[i]: lift[ids[i]] for i in order} if lift else {})

    def explain(self, ranking: Ranking, doc_id: str) -> dict[str, Any]:
        """``doc_id``'s learned score as SHAP contributions: the base value, each feature's share
        (non-zero ones), and their sums per leg and for the query's own features."""
        row = ranking.rows[doc_id][self.columns][None, :]
        contributions = self.boosters[ranking.model].predict(row, pred_contrib=True, num_threads=1)[0]
        rounded = ((name, round(float(c), 4)) for name, c in zip(self.features, contributions[:-1], strict=True))
        features = {name: c for name, c in rounded if c}
        by_part: dict[str, float] = {}
        for name, c in features.items():
            part = name.split(".", 1)[0]
            by_part[part] = round(by_part.get(part, 0.0) + c, 4)
        foreign = {}
        if ranking.foreign_lift:  # /search ranks by the learned score plus this, times the spread of the query's
            foreign = {"read_in_another_language": {"attributes_lift": round(ranking.foreign_lift[doc_id], 4)}}
        return foreign | {
            "version": self.version,
            "model": ranking.model,
            "score": round(ranking.raw[doc_id], 4),
            "base": round(float(contributions[-1]), 4),
            "by_leg": {part: value for part, value in by_part.items() if part != "query"},
            "query": by_part.get("query", 0.0),
            "features": dict(sorted(features.items(), key=lambda kv: -abs(kv[1]))),
        }

    def to_text(self) -> str:
        """The artifact: a JSON header line (features, depth, its models' kinds and sizes in lines,
        what it was trained on), then each model's LightGBM text in that order."""
        texts = {kind: booster.model_to_string() for kind, booster in self.boosters.items()}
        header = {
            "features": list(self.features),
            "feature_version": self.feature_version,
            "depth": self.depth,
            "models": {kind: text.count("\n") for kind, text in texts.items()},
            "reads": {kind: list(legs) for kind, legs in self.reads.items()},
            **self.meta,
        }
        return json.dumps(header) + "\n" + "".join(texts.values())

    def save(self, directory: Path) -> Path:
        """Write the artifact as ``ranker-<content hash>.txt`` (its version) and return its path."""
        text = self.to_text()
        digest = hashlib.sha256(text.split("\n", 1)[1].encode()).hexdigest()[:10]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"ranker-{digest}.txt"
        path.write_text(text, encoding="utf-8")
        return path


def _spread(values: np.ndarray) -> float:
    return float(values.max() - values.min()) if len(values) else 0.0


def load_ranker(path: Path) -> LearnedRanker:
    header, body = path.read_text(encoding="utf-8").split("\n", 1)
    meta = json.loads(header)
    features, depth, feature_version = meta.pop("features"), meta.pop("depth"), meta.pop("feature_version", 1)
    sizes = meta.pop("models", {TEXT: body.count("\n")})  # one model for every query before there were two
    reads = meta.pop("reads", None)  # every leg, before a model did without some
    lines, models, start = body.splitlines(keepends=True), {}, 0
    for kind, size in sizes.items():
        models[kind] = "".join(lines[start : start + size])
        start += size
    return LearnedRanker(models, features, depth, path.stem, meta, feature_version, reads)  # /health shows the version


def train_ranker(
    groups: Sequence[tuple[LegHits, QuerySignals, dict[str, int]]],
    depth: int = DEPTH,
    rounds: int = 150,
    monotone: bool = True,
    seed: int = 0,
    features: Sequence[str] = FEATURE_NAMES,
    meta: dict[str, Any] | None = None,
) -> LearnedRanker:
    """LambdaMART on graded queries, a model per kind of query: each is (its legs' hits, its signals,
    product id -> grade), reading ``features`` (all by default) of the legs each model reads (``SKIPPED``).
    Queries whose candidates hold no graded product teach nothing and are left out."""
    import lightgbm

    kinds = {query_model(signals) for _, signals, _ in groups}
    skipped = SKIPPED if PHOTO in kinds else {}  # else the text model ranks photo queries too
    reads = {kind: tuple(leg for leg in LEG_NAMES if leg not in skipped.get(kind, ())) for kind in kinds}
    by_model: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[int]]] = {}
    for legs, signals, grades in groups:
        kind = query_model(signals)
        ids, matrix = feature_matrix({leg: legs[leg] for leg in reads[kind] if leg in legs}, signals, depth)
        label = np.array([grades.get(doc_id, 0) for doc_id in ids], dtype=np.int32)
        if len(ids) and label.any():
            matrices, labels, sizes = by_model.setdefault(kind, ([], [], []))
            matrices.append(matrix)
            labels.append(np.minimum(label, len(LABEL_GAIN) - 1))
            sizes.append(len(ids))
    if not by_model:
        raise ValueError("no query has a graded product among its candidates")
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "label_gain": list(LABEL_GAIN),
        "lambdarank_truncation_level": 20,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "num_threads": 2,
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
        "verbose": -1,
    }
    if monotone:
        params["monotone_constraints"] = [MONOTONE.get(name.split(".", 1)[1], 0) for name in features]
    columns = [FEATURE_NAMES.index(name) for name in features]
    models = {}
    for kind in sorted(by_model, key=[TEXT, PHOTO].index):
        matrices, labels, sizes = by_model[kind]
        data = lightgbm.Dataset(
            np.vstack(matrices)[:, columns],
            np.concatenate(labels),
            group=sizes,
            feature_name=list(features),
            free_raw_data=True,
        )
        text = lightgbm.train(params, data, num_boost_round=rounds).model_to_string()
        models[kind] = text if text.endswith("\n") else text + "\n"
    info = {
        "queries": sum(len(sizes) for _, _, sizes in by_model.values()),
        "rows": int(sum(sum(sizes) for _, _, sizes in by_model.values())),
        "queries_by_model": {kind: len(by_model[kind][2]) for kind in models},
        "created_at": datetime.now(UTC).isoformat(),
    }
    return LearnedRanker(models, features, depth, "unsaved", info | (meta or {}), reads=reads)


def _leg_scores(legs: LegHits, depth: int) -> dict[str, dict[str, LegScore]]:
    """Per leg, each of its best ``depth`` hits' raw score, rank and min-max score (what explain shows)."""
    out: dict[str, dict[str, LegScore]] = {}
    for leg in LEG_NAMES:
        hits = list(legs.get(leg, ()))[:depth]
        if not hits:
            continue
        top, low = hits[0][1], min(score for _, score in hits)
        found: dict[str, LegScore] = {}
        for rank, (doc_id, score) in enumerate(hits, start=1):
            found.setdefault(doc_id, LegScore(score, rank, (score - low) / (top - low) if top > low else 1.0))
        out[leg] = found
    return out

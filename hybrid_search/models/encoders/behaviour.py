"""Behaviour vectors: products that users interact with in the same sessions end up close together.

Session co-occurrence counts (weighted by action) -> positive PMI -> its top eigenvectors scaled
by sqrt(eigenvalue), the classic count-based item embedding (Levy & Goldberg 2014 show
SGNS/item2vec implicitly factorise a shifted PMI matrix). PPMI is symmetric, so only positive
eigenvalues are kept: a plain SVD would also keep the negative ones, which push co-bought
products apart. Component 0 is reserved: products without events get the unit vector e0, a
neutral vector orthogonal to every learned one (cosine needs a non-zero vector), and a flag.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import eigsh

ACTION_WEIGHTS = {"impression": 0.0, "click": 1.0, "add_to_cart": 2.0, "purchase": 3.0}


@dataclass(frozen=True)
class Interaction:
    session: str
    product_id: str
    action: str


@dataclass(frozen=True)
class BehaviourVectors:
    product_ids: tuple[str, ...]
    vectors: np.ndarray  # (n, dim), unit rows
    has_behaviour: np.ndarray  # (n,) bool
    popularity: np.ndarray  # (n,) log1p(weighted interactions)
    click_rate: np.ndarray  # (n,) clicks / impressions, 0 without impressions


def neutral_vector(dim: int) -> np.ndarray:
    vector = np.zeros(dim, dtype=np.float32)
    vector[0] = 1.0
    return vector


def fusion_input(product: Mapping[str, Any], dim: int) -> tuple[np.ndarray, bool]:
    """What the fusion reads of a product's behaviour: its stored vector and True where it has events,
    else the neutral vector and False. Only the first is stored: the neutral vector repeated over a
    catalog without events stalls Lucene's HNSW merges (bench/scale/results.md)."""
    stored = product.get("behaviour_vector")
    if product.get("has_behaviour") and stored:
        return np.asarray(stored, dtype=np.float32), True
    return neutral_vector(dim), False


def ppmi(cooccurrence: sparse.csr_matrix) -> sparse.csr_matrix:
    """Positive pointwise mutual information of a symmetric count matrix: max(0, log(p(i,j) / p(i)p(j)))."""
    total = cooccurrence.sum()
    if total == 0:
        return sparse.csr_matrix(cooccurrence.shape, dtype=np.float64)
    row = np.asarray(cooccurrence.sum(axis=1)).ravel()
    coo = cooccurrence.tocoo()
    values = np.log(coo.data * total / (row[coo.row] * row[coo.col]))
    keep = values > 0
    return sparse.csr_matrix((values[keep], (coo.row[keep], coo.col[keep])), shape=cooccurrence.shape)


def build_behaviour_vectors(
    interactions: Iterable[Interaction], product_ids: Sequence[str], dim: int, seed: int = 0
) -> BehaviourVectors:
    """Vectors for ``product_ids`` from ``interactions``; products seen in no session get e0."""
    index = {pid: i for i, pid in enumerate(product_ids)}
    n = len(product_ids)
    sessions: dict[str, Counter[int]] = defaultdict(Counter)
    weight = np.zeros(n)
    clicks = np.zeros(n)
    impressions = np.zeros(n)
    for event in interactions:
        i = index.get(event.product_id)
        if i is None:
            continue
        w = ACTION_WEIGHTS.get(event.action, 0.0)
        impressions[i] += event.action == "impression"
        clicks[i] += event.action == "click"
        if w > 0:
            weight[i] += w
            sessions[event.session][i] += w
    rows, cols, vals = [], [], []
    for items in sessions.values():
        members = list(items.items())
        for a, wa in members:
            for b, wb in members:
                if a != b:
                    rows.append(a)
                    cols.append(b)
                    vals.append(min(wa, wb))
    counts = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n), dtype=np.float64)
    vectors = np.tile(neutral_vector(dim), (n, 1))
    has = np.asarray(counts.sum(axis=1)).ravel() > 0
    learned = _factorise(ppmi(counts), dim - 1, seed)
    norms = np.linalg.norm(learned, axis=1)
    has &= norms > 0
    vectors[has] = 0.0
    vectors[has, 1:] = learned[has] / norms[has, None]
    click_rate = np.divide(clicks, impressions, out=np.zeros(n), where=impressions > 0)
    return BehaviourVectors(
        tuple(product_ids),
        vectors.astype(np.float32),
        has,
        np.log1p(weight).astype(np.float32),
        np.clip(click_rate, 0, 1).astype(np.float32),
    )


def _factorise(matrix: sparse.csr_matrix, rank: int, seed: int) -> np.ndarray:
    """V * sqrt(lambda) for the top ``rank`` positive eigenvalues; zero-padded when there are fewer."""
    n = matrix.shape[0]
    out = np.zeros((n, rank))
    k = min(rank, n - 1)
    if k < 1 or matrix.nnz == 0:
        return out
    rng = np.random.default_rng(seed)
    values, vectors = eigsh(matrix.astype(np.float64), k=k, which="LA", v0=rng.standard_normal(n))
    order = [i for i in np.argsort(values)[::-1] if values[i] > 1e-9]
    out[:, : len(order)] = vectors[:, order] * np.sqrt(values[order])
    return out

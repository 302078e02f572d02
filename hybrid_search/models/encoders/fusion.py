"""Fusion of text, photo and behaviour vectors into one joint vector.

Two fusers share one interface (``fuse`` for products, ``text_query``/``image_query`` for queries):

- ``ConcatFuser``, the untrained baseline: each part L2-normalised and scaled by sqrt(weight),
  concatenated (so the dot product is the weighted sum of per-part cosines), then a fixed seeded
  Gaussian projection to ``dim`` (Johnson-Lindenstrauss keeps those dot products approximately).
- ``LearnedFuser``: projections of each modality into a joint space, trained contrastively
  (symmetric InfoNCE, as in CLIP) on the catalog's own title <-> photo pairs, plus a modality
  attention gate that weighs the parts present for each product. No CLIP weights exist offline:
  this projection is how a text query reaches photo content, and a photo query reaches titles.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hybrid_search.models.encoders.device import l2_normalise, resolve_device


class Fuser(Protocol):
    version: str
    dim: int

    def fuse(
        self,
        text: np.ndarray,
        image: np.ndarray,
        behaviour: np.ndarray,
        has_image: np.ndarray,
        has_behaviour: np.ndarray,
    ) -> np.ndarray: ...

    def text_query(self, text: np.ndarray) -> np.ndarray: ...

    def image_query(self, image: np.ndarray) -> np.ndarray: ...


CONCAT_WEIGHTS = (0.5, 0.4, 0.1)  # text, photo, behaviour


def concat_version(weights: tuple[float, float, float] = CONCAT_WEIGHTS, seed: int = 0) -> str:
    return f"concat-{'-'.join(f'{w:g}' for w in weights)}-rp{seed}"


class ConcatFuser:
    """Weighted concatenation of normalised parts, projected to ``dim`` by a fixed random matrix."""

    def __init__(
        self,
        dims: tuple[int, int, int],
        dim: int = 256,
        weights: tuple[float, float, float] = CONCAT_WEIGHTS,
        seed: int = 0,
    ) -> None:
        self.dims = dims
        self.dim = dim
        self.weights = weights
        self.version = concat_version(weights, seed)
        rng = np.random.default_rng(seed)
        self.projection = (rng.standard_normal((sum(dims), dim)) / math.sqrt(dim)).astype(np.float32)

    def _project(self, parts: list[np.ndarray], present: list[np.ndarray]) -> np.ndarray:
        scaled = [
            l2_normalise(part) * math.sqrt(weight) * mask[:, None]
            for part, weight, mask in zip(parts, self.weights, present, strict=True)
        ]
        return l2_normalise(np.concatenate(scaled, axis=1) @ self.projection)

    def fuse(self, text, image, behaviour, has_image, has_behaviour):
        ones = np.ones(len(text), dtype=np.float32)
        return self._project(
            [text, image, behaviour], [ones, has_image.astype(np.float32), has_behaviour.astype(np.float32)]
        )

    def text_query(self, text):
        n = len(text)
        zeros = np.zeros(n, dtype=np.float32)
        return self._project(
            [text, np.zeros((n, self.dims[1])), np.zeros((n, self.dims[2]))],
            [np.ones(n, dtype=np.float32), zeros, zeros],
        )

    def image_query(self, image):
        n = len(image)
        zeros = np.zeros(n, dtype=np.float32)
        return self._project(
            [np.zeros((n, self.dims[0])), image, np.zeros((n, self.dims[2]))],
            [zeros, np.ones(n, dtype=np.float32), zeros],
        )


@dataclass(frozen=True)
class FusionConfig:
    text_dim: int = 384
    image_dim: int = 1280
    behaviour_dim: int = 64
    joint_dim: int = 256
    hidden_dim: int = 512
    dropout: float = 0.1


def _projector(in_dim: int, hidden: int, out: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out)
    )


class FusionModel(nn.Module):
    """Per-modality projections into one joint space and a modality attention gate."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        self.text = _projector(config.text_dim, config.hidden_dim, config.joint_dim, config.dropout)
        self.image = _projector(config.image_dim, config.hidden_dim, config.joint_dim, config.dropout)
        self.behaviour = nn.Linear(config.behaviour_dim, config.joint_dim)
        self.gate = nn.Linear(config.joint_dim, 1)
        self.modality_bias = nn.Parameter(torch.zeros(3))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def project_text(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(x), dim=-1)

    def project_image(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image(x), dim=-1)

    def fuse(
        self, text: torch.Tensor, image: torch.Tensor, behaviour: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        """Attention over the modalities ``present`` (n, 3 bool) for each product; unit output."""
        parts = torch.stack(
            [self.project_text(text), self.project_image(image), F.normalize(self.behaviour(behaviour), dim=-1)], dim=1
        )
        scores = self.gate(parts).squeeze(-1) + self.modality_bias
        weights = torch.softmax(scores.masked_fill(~present, float("-inf")), dim=1)
        return F.normalize((weights.unsqueeze(-1) * parts).sum(dim=1), dim=-1)


def info_nce(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of aligned unit pairs (row i of ``a`` matches row i of ``b``)."""
    logits = logit_scale.exp().clamp(max=100) * a @ b.T
    labels = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@dataclass
class TrainingResult:
    model: FusionModel
    losses: list[float] = field(default_factory=list)  # mean loss per epoch


def train_fusion(
    text: np.ndarray,
    image: np.ndarray,
    behaviour: np.ndarray | None = None,
    has_behaviour: np.ndarray | None = None,
    config: FusionConfig | None = None,
    epochs: int = 30,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    device: str = "auto",
    query_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainingResult:
    """Train on aligned title/photo rows (products that have a photo).

    Loss per batch: InfoNCE(title, photo) + InfoNCE(title, fused product with its title dropped
    half the time), so the gate learns to lean on the photo when the words do not match. With
    ``query_pairs`` (query text vectors, clicked row indices) a third term pulls clicked products
    towards their queries.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(text)
    config = config or FusionConfig(text.shape[1], image.shape[1], behaviour.shape[1] if behaviour is not None else 64)
    dev = resolve_device(device)
    t = torch.as_tensor(text, dtype=torch.float32, device=dev)
    i = torch.as_tensor(image, dtype=torch.float32, device=dev)
    b = torch.as_tensor(
        behaviour if behaviour is not None else np.zeros((n, config.behaviour_dim)), dtype=torch.float32, device=dev
    )
    hb = torch.as_tensor(has_behaviour if has_behaviour is not None else np.zeros(n, bool), device=dev)
    model = FusionModel(config).to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * max(1, math.ceil(n / batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    result = TrainingResult(model)
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(n)
        total, batches = 0.0, 0
        for start in range(0, n, batch_size):
            idx = torch.as_tensor(order[start : start + batch_size], device=dev)
            if len(idx) < 2:
                continue
            queries = model.project_text(t[idx])
            keep_text = torch.rand(len(idx), device=dev) > 0.5
            present = torch.stack([keep_text, torch.ones_like(keep_text), hb[idx]], dim=1)
            fused = model.fuse(t[idx], i[idx], b[idx], present)
            loss = info_nce(queries, model.project_image(i[idx]), model.logit_scale)
            loss = loss + info_nce(queries, fused, model.logit_scale)
            if query_pairs is not None:
                q_vecs, rows = query_pairs
                pick = rng.choice(len(rows), size=min(len(idx), len(rows)), replace=False)
                q = model.project_text(torch.as_tensor(q_vecs[pick], dtype=torch.float32, device=dev))
                r = torch.as_tensor(rows[pick], device=dev)
                all_present = torch.stack([torch.ones_like(hb[r]), torch.ones_like(hb[r]), hb[r]], dim=1)
                loss = loss + info_nce(q, model.fuse(t[r], i[r], b[r], all_present), model.logit_scale)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
            batches += 1
        result.losses.append(total / max(batches, 1))
        if on_epoch:
            on_epoch(epoch, result.losses[-1])
    model.eval()
    return result


class LearnedFuser:
    """A trained FusionModel behind the Fuser interface."""

    def __init__(self, model: FusionModel, version: str, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.version = version
        self.dim = model.config.joint_dim

    def _run(self, fn: Callable[..., torch.Tensor], *arrays: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            # a copy: cached query vectors are read-only, which torch cannot wrap
            tensors = [torch.as_tensor(np.array(a), device=self.device) for a in arrays]
            tensors = [x.float() if x.dtype != torch.bool else x for x in tensors]
            return fn(*tensors).float().cpu().numpy()

    def fuse(self, text, image, behaviour, has_image, has_behaviour):
        present = np.stack([np.ones(len(text), bool), has_image.astype(bool), has_behaviour.astype(bool)], axis=1)
        return self._run(self.model.fuse, text, image, behaviour, present)

    def text_query(self, text):
        return self._run(self.model.project_text, text)

    def image_query(self, image):
        return self._run(self.model.project_image, image)


def save_fusion(model: FusionModel, directory: Path, metadata: dict[str, Any]) -> Path:
    """Write a versioned artifact ``fusion-<hash>.pt``; the version names the exact weights."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    version = "fusion-" + hashlib.sha256(buffer.getvalue()).hexdigest()[:10]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.pt"
    torch.save(
        {
            "version": version,
            "config": asdict(model.config),
            "state_dict": model.state_dict(),
            "saved_at": datetime.now(UTC).isoformat(),
            **metadata,
        },
        path,
    )
    return path


def load_fusion(path: Path, device: str = "auto") -> tuple[LearnedFuser, dict[str, Any]]:
    artifact = torch.load(path, map_location="cpu", weights_only=False)
    model = FusionModel(FusionConfig(**artifact["config"]))
    model.load_state_dict(artifact["state_dict"])
    metadata = {k: v for k, v in artifact.items() if k not in {"state_dict"}}
    return LearnedFuser(model, artifact["version"], device), metadata


def retrieval_metrics(
    queries: np.ndarray, candidates: np.ndarray, k: int = 10, labels: np.ndarray | None = None
) -> dict[str, float]:
    """Row i of ``queries`` should retrieve row i of ``candidates``: recall@k and nDCG@k of that pair.

    With ``labels`` (e.g. article types) also precision@k of candidates sharing the query's label,
    which forgives near-duplicate products that the exact-pair metrics count as misses.
    """
    sims = l2_normalise(queries) @ l2_normalise(candidates).T
    own = np.diag(sims)
    rank = (sims > own[:, None]).sum(axis=1)  # 0-based rank of the true pair
    hit = rank < k
    metrics = {
        f"recall@{k}": float(hit.mean()),
        f"ndcg@{k}": float(np.where(hit, 1 / np.log2(rank + 2), 0.0).mean()),
    }
    if labels is not None:
        top = np.argsort(-sims, axis=1)[:, :k]
        metrics[f"type_precision@{k}"] = float((labels[top] == labels[:, None]).mean())
    return metrics

"""Models as data: the set of models behind a products index, recorded in the index's ``_meta``.

A products index records the text and photo encoders that embedded it, the fusion that fused its
vectors, the attribute heads that read queries against it, the learned ranker, and the taggers
that gave its products the attribute values they lack. Workers embed into an index with the
models it records; the query side follows the index the alias points at (``live_models``), so a
new alias target is picked up by every process within ``models_poll_s``, without a restart.
``HYBRID_SEARCH_FUSION_MODEL``, ``HYBRID_SEARCH_ATTRIBUTE_MODEL`` and ``HYBRID_SEARCH_RANKER_MODEL`` remain
as overrides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.attributes import resolve_attribute_model
from hybrid_search.models.encoders.fusion import concat_version

FOLLOW_INDEX = "index"  # HYBRID_SEARCH_ATTRIBUTE_MODEL: the heads the index records


@dataclass(frozen=True)
class ModelSet:
    """The models of one products index. Artifacts are named relative to the models folder when they
    lie in it (every process finds them in its own data dir), else by their full path."""

    text_encoder: str
    image_encoder: str
    fusion: str | None = None  # a fusion artifact; None is the concatenation baseline
    attributes: str | None = None  # attribute heads; None reads queries without them
    ranker: str | None = None  # the learned ranker; None blends with the profile's fixed weights
    tagger: str | None = None  # the taggers that gave products the attribute values they lack (tags)

    @property
    def fusion_version(self) -> str:
        return artifact_version(self.fusion) if self.fusion else concat_version()

    @property
    def attributes_version(self) -> str | None:
        return artifact_version(self.attributes) if self.attributes else None

    @property
    def version(self) -> str:
        """The models that produce a document's vectors (not the attribute heads): one physical index each."""
        parts = (self.text_encoder, self.image_encoder, self.fusion_version)
        return "+".join(re.sub(r"[^A-Za-z0-9._-]+", "-", part) for part in parts)

    @property
    def ranker_version(self) -> str | None:
        return artifact_version(self.ranker) if self.ranker else None

    def to_meta(self) -> dict[str, Any]:
        return {
            "text_encoder": self.text_encoder,
            "image_encoder": self.image_encoder,
            "fusion": {"version": self.fusion_version, "artifact": self.fusion},
            "attributes": {"version": self.attributes_version, "artifact": self.attributes},
            "ranker": {"version": self.ranker_version, "artifact": self.ranker},
            "tagger": {"version": artifact_version(self.tagger) if self.tagger else None, "artifact": self.tagger},
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ModelSet:
        return cls(
            text_encoder=meta["text_encoder"],
            image_encoder=meta["image_encoder"],
            fusion=(meta.get("fusion") or {}).get("artifact"),
            attributes=(meta.get("attributes") or {}).get("artifact"),
            ranker=(meta.get("ranker") or {}).get("artifact"),
            tagger=(meta.get("tagger") or {}).get("artifact"),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelSet:
        """The configured models: what a first index is created with, and what an index from before
        model records is taken to hold (its attribute heads: the newest artifact, as they were then)."""
        spec = "latest" if settings.attribute_model == FOLLOW_INDEX else settings.attribute_model
        attributes = resolve_attribute_model(spec, settings.models_dir)
        return cls(
            text_encoder=settings.text_encoder,
            image_encoder=settings.image_encoder,
            fusion=artifact_name(settings.fusion_model, settings) if settings.fusion_model else None,
            attributes=artifact_name(attributes, settings) if attributes else None,
        )

    def with_overrides(self, settings: Settings) -> ModelSet:
        """These models with the fusion and attribute heads the settings force, if they force any."""
        models = self
        if settings.fusion_model:
            models = replace(models, fusion=artifact_name(settings.fusion_model, settings))
        if settings.attribute_model != FOLLOW_INDEX:
            path = resolve_attribute_model(settings.attribute_model, settings.models_dir)
            models = replace(models, attributes=artifact_name(path, settings) if path else None)
        if settings.ranker_model != FOLLOW_INDEX:
            ranker = None if settings.ranker_model == "none" else artifact_name(Path(settings.ranker_model), settings)
            models = replace(models, ranker=ranker)
        return models


def configured_models(settings: Settings, live: ModelSet | None) -> ModelSet:
    """What ``reindex`` builds: the configured encoders, and the live index's fusion and heads where
    they were trained on the same encoders (else none); the overrides win over both."""
    if live is None:
        return ModelSet.from_settings(settings)
    same_text = live.text_encoder == settings.text_encoder
    same = same_text and live.image_encoder == settings.image_encoder
    kept = ModelSet(
        settings.text_encoder,
        settings.image_encoder,
        fusion=live.fusion if same else None,
        attributes=live.attributes if same_text else None,
        ranker=live.ranker if same else None,  # its features are the scores of these encoders' legs
        tagger=live.tagger if same else None,  # it reads these encoders' vectors
    )
    return kept.with_overrides(settings)


def artifact_version(artifact: str) -> str:
    """``fusion-36b7bdc973`` for ``fusion-36b7bdc973.pt`` wherever it lies."""
    return Path(artifact.rstrip("/").rsplit("/", 1)[-1]).stem


def artifact_name(path: Path, settings: Settings) -> str:
    resolved = Path(path).expanduser().resolve()
    root = settings.models_dir.expanduser().resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)


def artifact_path(artifact: str, settings: Settings) -> Path:
    path = Path(artifact)
    return path if path.is_absolute() else settings.models_dir / path

"""The query side's models: those of the index the alias points at, followed without a restart."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from hybrid_search.core.errors import InvalidInputError, NotFoundError
from hybrid_search.core.settings import Settings
from hybrid_search.models.encoders.attributes import AttributeModel, load_attribute_model
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet, artifact_name, artifact_path
from hybrid_search.ranking.features import FEATURE_VERSION
from hybrid_search.ranking.learned import LearnedRanker, load_ranker
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.indices import index_meta, update_meta

log = logging.getLogger(__name__)


def recorded_models(client: OpenSearchClient, name: str) -> dict[str, ModelSet | None]:
    """The models each index behind ``name`` records (None: an index from before model records)."""
    return {
        index: ModelSet.from_meta(meta["models"]) if meta.get("models") else None
        for index, meta in index_meta(client, name).items()
    }


def alias_record(client: OpenSearchClient, alias: str) -> tuple[str, ModelSet | None] | None:
    """(the index ``alias`` points at, its recorded models), or None when it points nowhere: one
    request, as every process asks every few seconds."""
    try:
        records = recorded_models(client, alias)
    except NotFoundError:
        return None
    if not records:
        return None
    index = min(records)
    return index, records[index]


def live_models(client: OpenSearchClient, settings: Settings) -> tuple[str, ModelSet]:
    """The index the alias points at and its models (the configured ones for an index without a record)."""
    record = alias_record(client, settings.products_alias)
    if record is None:
        raise InvalidInputError("products", f"alias {settings.products_alias} points at no index")
    return record[0], record[1] or ModelSet.from_settings(settings)


def record_artifacts(client: OpenSearchClient, settings: Settings, **artifacts: Path) -> str:
    """Record artifacts that read queries against the live index (``attributes``: heads, ``ranker``: the
    learned ranker; no vector depends on them, so nothing is re-embedded); every process serving the
    alias uses them within ``models_poll_s``. Returns the index."""
    index, models = live_models(client, settings)
    named = {part: artifact_name(path, settings) for part, path in artifacts.items()}
    update_meta(client, index, {"models": replace(models, **named).to_meta()})
    return index


def index_models(client: OpenSearchClient, settings: Settings, index: str) -> ModelSet:
    """The models to embed into ``index`` with: its record, or the configured ones where it has none."""
    try:
        recorded = recorded_models(client, index).get(index)
    except NotFoundError:
        recorded = None
    return recorded or ModelSet.from_settings(settings)


class LoadedModels:
    """One model set's encoders, fuser and attribute heads, loaded on first use."""

    def __init__(self, settings: Settings, models: ModelSet) -> None:
        self.settings = settings
        self.models = models
        self.pipeline = EmbeddingPipeline(settings, models)

    @cached_property
    def attributes(self) -> AttributeModel | None:
        if not self.models.attributes:
            return None
        return _attribute_model(artifact_path(self.models.attributes, self.settings))

    @cached_property
    def ranker(self) -> LearnedRanker | None:
        """The learned ranker, unless it was trained on features this code computes otherwise: then
        the profiles' fixed weights serve until the next training run records a new one."""
        if not self.models.ranker:
            return None
        ranker = load_ranker(artifact_path(self.models.ranker, self.settings))
        if ranker.feature_version != FEATURE_VERSION:
            log.warning(
                "ranker %s reads features of version %s, not %s: searches use the fixed weights until it is retrained",
                ranker.version,
                ranker.feature_version,
                FEATURE_VERSION,
            )
            return None
        return ranker


_attribute_lock = threading.Lock()
_attribute_models: dict[Path, AttributeModel] = {}


def _attribute_model(path: Path) -> AttributeModel:
    """Attribute heads by artifact, loaded once per process."""
    with _attribute_lock:
        if path not in _attribute_models:
            _attribute_models[path] = load_attribute_model(path)
        return _attribute_models[path]


RecordReader = Callable[[], tuple[str, ModelSet | None] | None]
"""Reads (index, its recorded models) for the alias, or None when the alias points nowhere."""


class LiveModels:
    """The models of the index the alias points at, as this process sees them: the record is read
    again at most every ``poll_s``, and a new model set is loaded once and kept beside the old."""

    KEPT = 3  # model sets kept loaded: the live one and the ones a swap or an override came from

    def __init__(self, settings: Settings, read_record: RecordReader, poll_s: float | None = None) -> None:
        """``read_record`` is ``alias_record`` bound to a client and alias (a function, for tests)."""
        self.settings = settings
        self.read_record = read_record
        self.poll_s = settings.models_poll_s if poll_s is None else poll_s
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._index: str | None = None
        self._recorded: ModelSet | None = None
        self._loaded: dict[ModelSet, LoadedModels] = {}
        self._current: LoadedModels | None = None

    def current(self) -> LoadedModels:
        """The loaded models queries use now (the record's, with the settings' overrides)."""
        now = time.monotonic()
        with self._lock:
            if self._current is None or self._read_at is None or now - self._read_at >= self.poll_s:
                record = self.read_record()
                self._index, self._recorded = record if record else (None, None)
                self._read_at = now
                # resolved here, not per query: the configured set and "latest" read the models folder
                models = (self._recorded or ModelSet.from_settings(self.settings)).with_overrides(self.settings)
                if models not in self._loaded:
                    if len(self._loaded) >= self.KEPT:
                        self._loaded.pop(next(iter(self._loaded)))
                    self._loaded[models] = LoadedModels(self.settings, models)
                self._current = self._loaded[models]
            return self._current

    def state(self) -> dict[str, Any]:
        """What /health shows: the index, the models it records, the ones queries use, and any mismatch."""
        used = self.current().models
        with self._lock:
            index, recorded = self._index, self._recorded
        out: dict[str, Any] = {"index": index, "recorded": recorded.to_meta() if recorded else None}
        out["queries"] = used.to_meta()
        if recorded is not None and recorded != used:
            differ = [
                name
                for name, a, b in (
                    ("text encoder", recorded.text_encoder, used.text_encoder),
                    ("photo encoder", recorded.image_encoder, used.image_encoder),
                    ("fusion", recorded.fusion_version, used.fusion_version),
                    ("attribute heads", recorded.attributes_version, used.attributes_version),
                    ("ranker", recorded.ranker_version, used.ranker_version),
                )
                if a != b
            ]
            out["warning"] = f"queries use another {', '.join(differ)} than {index} records (an override is set)"
        return out

"""Thin Celery tasks: ids in, library call, retries and acks here. Models load once per process.

Run a worker with ``hybrid-search worker`` (or ``celery -A workers.tasks worker``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from celery import signals

from hybrid_search.core.errors import BackendError, ServiceUnavailableError
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation import jobs as evaluation
from hybrid_search.indexing import reindex as reindexing
from hybrid_search.indexing.embedding import embed_products as embed
from hybrid_search.models.live import index_models
from hybrid_search.models.pipeline import EmbeddingPipeline
from hybrid_search.models.sets import ModelSet
from hybrid_search.querying.service import SearchService
from hybrid_search.queue import (
    ACTIVATE_WHEN_READY,
    EMBED_PRODUCTS,
    EVALUATE,
    REBUILD_BEHAVIOUR,
    RECONCILE,
    REINDEX,
    TRAIN_FUSION,
    TRAINING_STEP,
    TRAINING_TICK,
    TUNE,
    enqueue_embedding,
    make_celery,
)
from hybrid_search.stores.redis.errors import TRANSIENT_ERRORS
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.services import Services
from hybrid_search.training import runner as training
from hybrid_search.training import trainers

app = make_celery()

# Transient failures of OpenSearch or Redis: retry with exponential backoff and full jitter. The
# wait is capped at a minute so that a batch catches up within about a minute of the service coming
# back (bench/reliability); 30 tries span about 12 minutes on average (25 at most), after which the
# reconciler re-queues what is still pending.
RETRY = {
    "autoretry_for": (ServiceUnavailableError, BackendError, *TRANSIENT_ERRORS),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 30,
}


@signals.after_setup_logger.connect
def _quiet_client_logs(**_: Any) -> None:
    """One INFO line per OpenSearch request drowns the task log."""
    logging.getLogger("opensearch").setLevel(logging.WARNING)


@cache
def runtime() -> Services:
    return Services.from_settings(Settings())


_pipelines: dict[ModelSet, EmbeddingPipeline] = {}


def pipeline_for(index: str) -> EmbeddingPipeline:
    """The pipeline of the models ``index`` records; each model set's is built once per process."""
    services = runtime()
    models = index_models(services.opensearch, services.settings, index)
    if models not in _pipelines:
        _pipelines[models] = EmbeddingPipeline(services.settings, models)
    return _pipelines[models]


@app.task(name=EMBED_PRODUCTS, **RETRY)
def embed_products(ids: list[str], index: str, force: bool = False) -> dict[str, Any]:
    services = runtime()
    report = embed(services.opensearch, index, ids, pipeline_for(index), force=force)
    return {
        "index": index,
        "ready": len(report.ready),
        "failed": report.failed,
        "unchanged": len(report.unchanged),
        "missing": report.missing,
        "superseded": report.superseded,
    }


@app.task(name=REINDEX, **RETRY)
def reindex(merchant_id: str | None = None) -> dict[str, Any]:
    services = runtime()
    plan = reindexing.reindex(services.opensearch, services.settings, enqueue_embedding(app), merchant_id)
    if plan.swap_pending:
        activate_when_ready.apply_async(args=[plan.index], countdown=10)
    return asdict(plan)


@app.task(name=ACTIVATE_WHEN_READY, bind=True, max_retries=None)
def activate_when_ready(self: Any, index: str) -> str:
    services = runtime()
    if not reindexing.activate_when_ready(services.opensearch, services.settings, index):
        raise self.retry(countdown=10)
    return index


@app.task(name=REBUILD_BEHAVIOUR, **RETRY)
def rebuild_behaviour_vectors() -> dict[str, int]:
    services = runtime()
    return trainers.rebuild_behaviour_vectors(services.opensearch, services.settings, enqueue_embedding(app))


@app.task(name=TRAIN_FUSION, **RETRY)
def train_fusion(epochs: int = 30) -> dict[str, Any]:
    services = runtime()
    path, metadata = trainers.train_fusion_from_index(services.opensearch, services.settings, epochs=epochs)
    return {"artifact": str(path), "evaluation": metadata["evaluation"]}


def _progress(task: Any) -> Any:
    """A progress wrapper for evaluation runs that reports each step as the task's PROGRESS state."""

    def wrap(items: Any, desc: str, total: int) -> Any:
        for done, item in enumerate(items):
            task.update_state(state="PROGRESS", meta={"step": desc, "done": done, "total": total})
            yield item

    return wrap


@app.task(name=EVALUATE, bind=True)
def evaluate(self: Any, queries: str | None, qrels: str, profiles: list[str], legs: bool, name: str) -> dict[str, Any]:
    services = runtime()
    service = search_service()
    chosen = {}
    for profile_name in profiles:
        stored = service.profiles.get(profile_name)
        chosen[f"{stored.name}@{stored.version}"] = stored.profile
    out = services.settings.reports_dir / self.request.id
    return evaluation.evaluate(
        service, Path(queries) if queries else None, Path(qrels), chosen, out, name, legs, _progress(self)
    ).to_json()


@app.task(name=TUNE, bind=True)
def tune(
    self: Any,
    queries: str | None,
    qrels: str,
    profile: str,
    folds: int,
    rounds: int,
    save: bool,
    intents: bool = False,
    judged_only: bool = False,
    prior_queries: float | None = None,
) -> dict[str, Any]:
    services = runtime()
    service = search_service()
    out = services.settings.reports_dir / self.request.id
    base = service.profiles.get(profile)
    result = evaluation.tune(
        service,
        Path(queries) if queries else None,
        Path(qrels),
        base,
        out,
        folds=folds,
        rounds=rounds,
        leave_intents_out=intents,
        save_as=profile if save else None,
        progress=_progress(self),
        judged_only=judged_only,
        prior_queries=prior_queries,
    )
    return result.to_json()  # the task's result, read back through Celery's backend


@cache
def search_service() -> SearchService:
    return SearchService.from_services(runtime())


@app.task(name=RECONCILE, **RETRY)
def reconcile_pending() -> int:
    services = runtime()
    return reindexing.reconcile(services.opensearch, services.settings, enqueue_embedding(app))


def _training() -> training.Context:
    services = runtime()
    return training.Context(
        client=services.opensearch,
        settings=services.settings,
        state=TrainingState(services.redis, services.settings.products_alias),
        enqueue=enqueue_embedding(app),
        send_step=lambda run_id, step: app.send_task(TRAINING_STEP, args=[run_id, step]),
    )


@app.task(name=TRAINING_STEP, **RETRY)
def training_step(run_id: str, step: str) -> str:
    return training.run_step(_training(), run_id, step)


@app.task(name=TRAINING_TICK)
def training_tick() -> str:
    return training.tick(_training())

"""The Celery application and its task names: Redis broker, late acks, re-delivery of work a dead worker
held. Here, not in ``workers``, so that what sends a task (the API, the CLI, training) and the workers
that run it share the names without hybrid_search importing the workers.

Settings are read when Celery first needs its configuration, not at import time.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from hybrid_search.core.settings import Settings

EMBED_PRODUCTS = "hybrid_search.embed_products"
REINDEX = "hybrid_search.reindex"
ACTIVATE_WHEN_READY = "hybrid_search.activate_when_ready"
REBUILD_BEHAVIOUR = "hybrid_search.rebuild_behaviour_vectors"
TRAIN_FUSION = "hybrid_search.train_fusion"
EVALUATE = "hybrid_search.evaluate"
TUNE = "hybrid_search.tune"
RECONCILE = "hybrid_search.reconcile_pending"
TRAINING_STEP = "hybrid_search.training_step"
TRAINING_TICK = "hybrid_search.training_tick"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Tasks are acknowledged after they finish and re-delivered if the worker dies (so a killed
    worker loses nothing); prefetch 1 keeps a long embedding batch from holding others hostage."""
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "result_expires": 24 * 3600,
        "broker_connection_retry_on_startup": True,
        # A dead worker's unacknowledged task is delivered again once it is visibility_timeout old;
        # scan for such tasks every few seconds rather than kombu's default of every 100.
        "broker_transport_options": {
            "visibility_timeout": settings.task_visibility_timeout_s,
            "unacked_restore_interval": max(1, min(10, int(settings.task_visibility_timeout_s / 2))),
            "unacked_restore_throttle": 1,
        },
        "result_backend_transport_options": {"visibility_timeout": settings.task_visibility_timeout_s},
        "beat_schedule": {
            "reconcile-pending": {"task": RECONCILE, "schedule": max(30.0, settings.stale_pending_after_s / 4)},
            # start training that is due, finish a run's alias swap, resume a step whose worker died
            "training": {
                "task": TRAINING_TICK,
                "schedule": settings.train_check_s,
                "options": {"expires": settings.train_check_s},
            },
        },
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app; configured from ``settings``, or lazily from the environment when none is given."""
    app = Celery("hybrid_search")
    app.add_defaults(lambda: celery_config(settings or Settings()))
    return app


def enqueue_embedding(app: Celery) -> Any:
    """The ``Enqueue`` callable of hybrid_search.indexing.ingest, sending the task by name."""
    return lambda ids, index: app.send_task(EMBED_PRODUCTS, args=[list(ids), index])

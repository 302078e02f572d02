"""The Celery application: Redis broker and result backend, late acks, one task at a time per process."""

from __future__ import annotations

from celery import Celery

from hybrid_search.settings import Settings


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app for ``settings`` (from the environment unless given).

    Tasks are acknowledged after they finish and re-delivered if the worker dies, so a killed
    worker loses nothing; prefetch 1 keeps a long embedding batch from holding others hostage.
    """
    settings = settings or Settings()
    app = Celery("hybrid_search", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app

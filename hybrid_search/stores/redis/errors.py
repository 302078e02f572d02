"""Redis failures turned into the library's errors, one way for every use (the policies per use are
in the package's docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from hybrid_search.core.errors import ServiceUnavailableError

# What a Celery task retries with backoff rather than fails on: Redis that did not answer
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


@contextmanager
def redis_errors(doing: str) -> Iterator[None]:
    """Redis failures as the retryable ServiceUnavailableError (503 + Retry-After in the API)."""
    try:
        yield
    except redis.RedisError as exc:
        raise ServiceUnavailableError(f"Redis unavailable while {doing} ({exc.__class__.__name__})") from exc

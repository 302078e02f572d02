"""The Redis client a process shares, and the health check's ping."""

from __future__ import annotations

from typing import Any

import redis

Redis = redis.Redis  # the client type the stores take


def connect(url: str, timeout_s: float = 5.0) -> Redis:
    """A client for ``url`` (connections are made on first use), failing after ``timeout_s``."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


def ping(client: Redis) -> tuple[bool, dict[str, Any]]:
    """Whether Redis answers, and the check the health endpoint shows."""
    try:
        ok = bool(client.ping())
    except redis.RedisError as exc:
        return False, {"error": "service_unavailable", "message": str(exc)}
    return ok, {"ping": ok}

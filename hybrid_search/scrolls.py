"""The scrolls the OpenSearch-shaped API opened, and for whom. A scroll id names a search context on a
node, and its context number counts up: a caller could write the id of another search (the workers'
scans read vectors). So a page is only read for an id this API handed out, to the caller it handed it
to, for as long as the scroll's keep-alive; Redis keeps the record, shared by every API process."""

from __future__ import annotations

import hashlib

import redis

from hybrid_search.errors import ServiceUnavailableError


class Scrolls:
    """``<prefix>:scroll:<sha256 of the id>`` holds the caller of a scroll, expiring with it."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def issued(self, scroll_id: str, caller: str, keep_alive_s: float) -> None:
        """Record that ``caller`` holds ``scroll_id`` for ``keep_alive_s`` (from now)."""
        try:
            self.redis.set(self._key(scroll_id), caller, ex=max(1, int(keep_alive_s + 0.999)))
        except redis.RedisError as exc:
            raise ServiceUnavailableError("Redis unreachable: cannot record the scroll") from exc

    def holds(self, scroll_id: str, caller: str) -> bool:
        """Whether ``caller`` was handed ``scroll_id`` and it has not expired. Fails closed."""
        try:
            owner = self.redis.get(self._key(scroll_id))
        except redis.RedisError as exc:
            raise ServiceUnavailableError("Redis unreachable: cannot check the scroll") from exc
        return owner is not None and owner.decode() == caller

    def forget(self, scroll_id: str) -> None:
        try:
            self.redis.delete(self._key(scroll_id))
        except redis.RedisError as exc:
            raise ServiceUnavailableError("Redis unreachable: cannot forget the scroll") from exc

    def _key(self, scroll_id: str) -> str:
        return f"{self.prefix}:scroll:{hashlib.sha256(scroll_id.encode()).hexdigest()}"

"""The scrolls the OpenSearch-shaped API opened, and for whom. A scroll id names a search context on a
node, and its context number counts up: a caller could write the id of another search (the workers'
scans read vectors). So a page is only read for an id this API handed out, to the caller it handed it
to, for as long as the scroll's keep-alive; Redis keeps the record, shared by every API process."""

from __future__ import annotations

from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import scroll_key


class Scrolls:
    """``<prefix>:scroll:<sha256 of the id>`` holds the caller of a scroll, expiring with it."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def issued(self, scroll_id: str, caller: str, keep_alive_s: float) -> None:
        """Record that ``caller`` holds ``scroll_id`` for ``keep_alive_s`` (from now)."""
        with redis_errors("recording a scroll"):
            self.redis.set(scroll_key(self.prefix, scroll_id), caller, ex=max(1, int(keep_alive_s + 0.999)))

    def holds(self, scroll_id: str, caller: str) -> bool:
        """Whether ``caller`` was handed ``scroll_id`` and it has not expired. Fails closed."""
        with redis_errors("checking a scroll"):
            owner = self.redis.get(scroll_key(self.prefix, scroll_id))
        return owner is not None and owner.decode() == caller

    def forget(self, scroll_id: str) -> None:
        with redis_errors("forgetting a scroll"):
            self.redis.delete(scroll_key(self.prefix, scroll_id))

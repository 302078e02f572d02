"""What each served search was for, by its query_id, kept in Redis for a while: /events stamps it
on a search's impressions and clicks (UBI's ``user_query``), which the click model judges by."""

from __future__ import annotations

from collections.abc import Collection

import redis

from hybrid_search.users import redis_errors


class QueryLog:
    """``<prefix>:query:<query_id>`` → the query text, for ``ttl_s`` seconds. A query_id is a random
    UUID returned only to the caller of that search, so it needs no tenant of its own."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, query_id: str) -> str:
        return f"{self.prefix}:query:{query_id}"

    def record(self, query_id: str, text: str) -> None:
        with redis_errors("logging a query"):
            self.redis.set(self._key(query_id), text.encode(), ex=self.ttl_s)

    def texts(self, query_ids: Collection[str]) -> dict[str, str]:
        """The texts of those ``query_ids`` still logged."""
        ids = sorted(query_ids)
        if not ids:
            return {}
        with redis_errors("reading logged queries"):
            found = self.redis.mget([self._key(q) for q in ids])
        return {q: text.decode() for q, text in zip(ids, found, strict=True) if text is not None}

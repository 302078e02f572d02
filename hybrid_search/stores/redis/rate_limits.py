"""Fixed-window request counters in Redis, shared by every API process: how many calls a caller
made this minute. They fail open: a Redis outage must not take search down with it."""

from __future__ import annotations

import redis

from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.clock import WALL, Clock
from hybrid_search.stores.redis.keys import rate_key

WINDOW_S = 60


class RateLimits:
    """A caller's calls in the current minute of ``clock`` (``keys.rate_key``)."""

    def __init__(self, client: Redis, prefix: str, clock: Clock = WALL) -> None:
        self.redis = client
        self.prefix = prefix
        self.clock = clock

    def over(self, bucket: str, limit: int, cost: int = 1) -> int:
        """Count ``cost`` calls for ``bucket``; the seconds until its window ends when that takes it
        past ``limit`` calls a minute, else 0 (also when Redis cannot count)."""
        now = self.clock()
        window = int(now // WINDOW_S)
        key = rate_key(self.prefix, bucket, window)
        try:
            count, _ = self.redis.pipeline().incrby(key, cost).expire(key, WINDOW_S * 2).execute()
        except redis.RedisError:  # fails open (the package's table of failure policies)
            return 0
        return max(1, int((window + 1) * WINDOW_S - now + 0.999)) if count > limit else 0

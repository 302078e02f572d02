"""Fixed-window request counters in Redis, shared by every API process: how many calls a caller
made this minute. They fail open: a Redis outage must not take search down with it."""

from __future__ import annotations

import time

import redis

WINDOW_S = 60


class RateLimits:
    """``<prefix>:rate:<bucket>:<window>`` counts a caller's calls in the current minute."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def over(self, bucket: str, limit: int, cost: int = 1) -> int:
        """Count ``cost`` calls for ``bucket``; the seconds until its window ends when that takes it
        past ``limit`` calls a minute, else 0 (also when Redis cannot count)."""
        now = time.time()
        window = int(now // WINDOW_S)
        key = f"{self.prefix}:rate:{bucket}:{window}"
        try:
            count, _ = self.redis.pipeline().incrby(key, cost).expire(key, WINDOW_S * 2).execute()
        except redis.RedisError:
            return 0
        return max(1, int((window + 1) * WINDOW_S - now + 0.999)) if count > limit else 0

"""The long-lived clients one process shares: built once from Settings, passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import OpenSearchClient, make_client
from hybrid_search.stores.redis.client import Redis, connect
from hybrid_search.stores.redis.clock import WALL, Clock


@dataclass(frozen=True)
class Services:
    settings: Settings
    opensearch: OpenSearchClient
    redis: Redis
    clock: Clock = WALL  # what the rate limits count minutes by (a test's own clock, else the wall's)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = WALL) -> Services:
        return cls(settings=settings, opensearch=make_client(settings), redis=connect(settings.redis_url), clock=clock)

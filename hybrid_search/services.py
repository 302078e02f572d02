"""The long-lived clients one process shares: built once from Settings, passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from hybrid_search.settings import Settings
from hybrid_search.stores.opensearch.client import OpenSearchClient, make_client


@dataclass(frozen=True)
class Services:
    settings: Settings
    opensearch: OpenSearchClient
    redis: redis.Redis

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            opensearch=make_client(settings),
            redis=redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5),
        )

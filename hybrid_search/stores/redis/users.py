"""Per-user behaviour profiles in Redis, updated on every event and read on every personalised search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hybrid_search.models.encoders.behaviour import ACTION_WEIGHTS
from hybrid_search.ranking.rerank import AFFINITY_FIELDS, UserProfile, affinity_shares, updated_vector
from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import SEPARATOR, user_keys

PROFILE_TTL_S = 90 * 24 * 3600
HISTORY_KEPT = 50  # recent products per user, for explaining a boost


class UserProfiles:
    """Users belong to the client (tenant) whose key sent their events: ``<prefix>:user:<client>\\x1f<id>:vec``
    holds the float32 moving average of fused vectors the user acted on, ``...:aff`` counts
    action-weighted attribute values (``colour\\x1fblack``), ``...:hist`` the recent products."""

    def __init__(self, client: Redis, prefix: str, decay: float = 0.5) -> None:
        self.redis = client
        self.prefix = prefix
        self.decay = decay  # how much of the user's vector each new action keeps

    def _keys(self, tenant: str, user_id: str) -> tuple[str, str, str]:
        return user_keys(self.prefix, tenant, user_id)

    def check(self) -> None:
        """Raise ServiceUnavailableError unless Redis answers (before writing what it must follow)."""
        with redis_errors("checking user profiles"):
            self.redis.ping()

    def record(self, tenant: str, user_id: str, action: str, key: str, product: Mapping[str, Any]) -> None:
        """Fold one action on ``product`` (document ``key``: its fused vector and attributes) into the
        user's profile and recent history."""
        with redis_errors("updating a user profile"):
            self._record(tenant, user_id, action, key, product)

    def _record(self, tenant: str, user_id: str, action: str, key: str, product: Mapping[str, Any]) -> None:
        weight = ACTION_WEIGHTS.get(action, 0.0)
        if weight <= 0:
            return  # an impression says nothing about what the user likes
        vec_key, aff_key, hist_key = self._keys(tenant, user_id)
        pipe = self.redis.pipeline()
        vector = product.get("fused_vector")
        if vector is not None:
            raw = self.redis.get(vec_key)
            current = np.frombuffer(raw, dtype=np.float32) if raw else None
            if current is not None and current.shape[0] != len(vector):
                current = None  # the fused space changed (new model version): start again
            pipe.set(
                vec_key, updated_vector(current, np.asarray(vector), weight, self.decay).astype(np.float32).tobytes()
            )
            pipe.expire(vec_key, PROFILE_TTL_S)
        for name in AFFINITY_FIELDS:
            value = product.get(name)
            if value:
                pipe.hincrbyfloat(aff_key, f"{name}{SEPARATOR}{str(value).lower()}", weight)
        pipe.expire(aff_key, PROFILE_TTL_S)
        pipe.lrem(hist_key, 0, key)
        pipe.lpush(hist_key, key)
        pipe.ltrim(hist_key, 0, HISTORY_KEPT - 1)
        pipe.expire(hist_key, PROFILE_TTL_S)
        pipe.execute()

    def forget(self, tenant: str, user_id: str) -> bool:
        """Delete the user's profile; whether there was one."""
        with redis_errors("deleting a user profile"):
            return bool(self.redis.delete(*self._keys(tenant, user_id)))

    def history(self, tenant: str, user_id: str) -> list[str]:
        """The products the user acted on most recently, newest first (at most HISTORY_KEPT)."""
        with redis_errors("reading a user's history"):
            return [key.decode() for key in self.redis.lrange(self._keys(tenant, user_id)[2], 0, -1)]

    def get(self, tenant: str, user_id: str) -> UserProfile:
        vec_key, aff_key, _ = self._keys(tenant, user_id)
        with redis_errors("reading a user profile"):
            raw, counts = self.redis.pipeline().get(vec_key).hgetall(aff_key).execute()
        by_field: dict[str, dict[str, float]] = {}
        for key, value in counts.items():
            name, _, attr = key.decode().partition(SEPARATOR)
            by_field.setdefault(name, {})[attr] = float(value)
        vector = np.frombuffer(raw, dtype=np.float32) if raw else None
        return UserProfile(vector=vector, affinities=affinity_shares(by_field))

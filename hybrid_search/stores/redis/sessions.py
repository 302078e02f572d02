"""The console's sessions: its cookie carries a random session id, never the key typed in; Redis maps
the id (hashed) to the key for ``SESSION_TTL_S``, for every API process. A key taken out of the
settings stops working in every session at once (the key is checked on each request as before)."""

from __future__ import annotations

import secrets

from hybrid_search.stores.redis import keys
from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors

SESSION_TTL_S = 12 * 3600


def open_session(client: Redis, prefix: str, key: str) -> str:
    """A new session id for ``key``."""
    session_id = secrets.token_urlsafe(32)
    with redis_errors("keeping a console session"):
        client.set(keys.session_key(prefix, session_id), key, ex=SESSION_TTL_S)
    return session_id


def session_key(client: Redis, prefix: str, session_id: str) -> str:
    """The key of a live session ("" for an unknown or expired one)."""
    if not session_id:
        return ""
    with redis_errors("reading a console session"):
        key = client.get(keys.session_key(prefix, session_id))
    return key.decode() if key else ""


def close_session(client: Redis, prefix: str, session_id: str) -> None:
    """Forget a session (signing out); an unknown one is already gone."""
    if session_id:
        with redis_errors("closing a console session"):
            client.delete(keys.session_key(prefix, session_id))

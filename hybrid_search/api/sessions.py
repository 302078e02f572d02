"""The console's sessions: its cookie carries a random session id, never the key typed in; Redis maps
the id (hashed) to the key for ``SESSION_TTL_S``, for every API process. A key taken out of the
settings stops working in every session at once (the key is checked on each request as before)."""

from __future__ import annotations

import hashlib
import secrets

import redis

from hybrid_search.errors import ServiceUnavailableError

SESSION_TTL_S = 12 * 3600


def _name(prefix: str, session_id: str) -> str:
    return f"{prefix}:console-session:{hashlib.sha256(session_id.encode()).hexdigest()}"


def open_session(client: redis.Redis, prefix: str, key: str) -> str:
    """A new session id for ``key``."""
    session_id = secrets.token_urlsafe(32)
    try:
        client.set(_name(prefix, session_id), key, ex=SESSION_TTL_S)
    except redis.RedisError as exc:
        raise ServiceUnavailableError(f"the console's sessions cannot be kept: Redis: {exc}") from None
    return session_id


def session_key(client: redis.Redis, prefix: str, session_id: str) -> str:
    """The key of a live session ("" for an unknown or expired one)."""
    if not session_id:
        return ""
    try:
        key = client.get(_name(prefix, session_id))
    except redis.RedisError as exc:
        raise ServiceUnavailableError(f"the console's sessions cannot be read: Redis: {exc}") from None
    return key.decode() if key else ""


def close_session(client: redis.Redis, prefix: str, session_id: str) -> None:
    """Forget a session (signing out); an unknown one is already gone."""
    if session_id:
        try:
            client.delete(_name(prefix, session_id))
        except redis.RedisError as exc:
            raise ServiceUnavailableError(f"the console's session cannot be closed: Redis: {exc}") from None

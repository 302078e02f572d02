"""Every Redis key the library writes, named in one place. ``prefix`` is the products alias a key
belongs to (one Redis may serve several indices); ids a caller chooses (a scroll id, a session id)
are hashed, so no caller can name another's key."""

from __future__ import annotations

import hashlib

SEPARATOR = "\x1f"  # between a tenant and its user id, an attribute and its value: neither contains it


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def user_keys(prefix: str, tenant: str, user_id: str) -> tuple[str, str, str]:
    """A user's vector, attribute affinities and recent products."""
    base = f"{prefix}:user:{tenant}{SEPARATOR}{user_id}"
    return f"{base}:vec", f"{base}:aff", f"{base}:hist"


def query_key(prefix: str, query_id: str) -> str:
    """A served search's query text, by its query_id."""
    return f"{prefix}:query:{query_id}"


def features_key(prefix: str, text: str) -> str:
    """The ranker's logged features of a query text as judgments group it (case and spacing aside),
    by its hash: texts may be long."""
    return f"{prefix}:features:{_hashed(' '.join(text.lower().split()))[:32]}"


def scroll_key(prefix: str, scroll_id: str) -> str:
    """Who was handed a scroll."""
    return f"{prefix}:scroll:{_hashed(scroll_id)}"


def rate_key(prefix: str, bucket: str, window: int) -> str:
    """A caller's calls in one window of the rate limits."""
    return f"{prefix}:rate:{bucket}:{window}"


def runs_key(prefix: str) -> str:
    """The evaluation and tuning runs started, newest first."""
    return f"{prefix}:runs"


def session_key(prefix: str, session_id: str) -> str:
    """A console session's key."""
    return f"{prefix}:console-session:{_hashed(session_id)}"


def query_photo_key(prefix: str, digest: str) -> str:
    """A photo searched in the console, by its SHA-256."""
    return f"{prefix}:query-photo:{digest}"


def training_key(alias: str, name: str) -> str:
    """One part of an alias's training record (``active``, ``run``, ``lease``...)."""
    return f"hybrid-search:training:{alias}:{name}"

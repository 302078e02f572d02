"""Who is calling: a request's ``X-API-Key`` resolved to the admin, a merchant or a client (a
storefront backend, the tenant its users and events belong to); every endpoint asks here."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from flask import current_app, request

from hybrid_search.core.errors import UnauthorisedError
from hybrid_search.core.settings import Settings
from hybrid_search.stores.redis.sessions import session_key


def _settings() -> Settings:
    return current_app.extensions["hybrid_search"].settings


KEY_COOKIE = "hybrid_search_key"  # the console's session id (stores/redis/sessions.py; HttpOnly, SameSite=Strict)


def _key() -> str:
    key = request.headers.get("X-API-Key", "")
    if not key and request.blueprint == "console":
        services = current_app.extensions["hybrid_search"]
        key = session_key(services.redis, services.settings.products_alias, request.cookies.get(KEY_COOKIE, ""))
    return key


def known_key(key: str) -> bool:
    """Whether ``key`` is the admin's, a merchant's or a client's."""
    settings = _settings()
    return any(
        _owner(key, keys) is not None
        for keys in ({settings.admin_key: "admin"}, settings.merchant_keys, settings.client_keys)
    )


def _owner(key: str, keys: Mapping[str, str]) -> str | None:
    """The owner of ``key`` among ``keys``, compared in constant time: every key is compared in full,
    so how long a guess takes says nothing of how much of a key it got right."""
    found = None
    for candidate, owner in keys.items():
        if hmac.compare_digest(key.encode(), candidate.encode()):
            found = owner
    return found


def is_admin() -> bool:
    key = _key()
    return bool(key) and _owner(key, {_settings().admin_key: "admin"}) is not None


def require_admin(what: str) -> Settings:
    """The settings, for an admin call; 401 otherwise."""
    if not is_admin():
        raise UnauthorisedError(f"{what} need the admin X-API-Key")
    return _settings()


def caller_merchant() -> str | None:
    """The merchant of a merchant key; None for the admin key (every merchant); 401 otherwise."""
    if is_admin():
        return None
    merchant = _owner(_key(), _settings().merchant_keys)
    if merchant is None:
        raise UnauthorisedError("missing or unknown X-API-Key")
    return merchant


def caller_client() -> str | None:
    """The client (tenant) of a client key; None without one (or with a merchant's or the admin's).
    An unknown key is a 401: a mistyped key must not quietly turn a call anonymous."""
    key = _key()
    settings = _settings()
    if not key or is_admin() or _owner(key, settings.merchant_keys) is not None:
        return None
    client = _owner(key, settings.client_keys)
    if client is None:
        raise UnauthorisedError("unknown X-API-Key")
    return client


def require_client(what: str) -> str:
    """The client (tenant) of the request's client key; 401 without one."""
    client = caller_client()
    if client is None:
        raise UnauthorisedError(f"{what} need a client X-API-Key (HYBRID_SEARCH_CLIENT_KEYS)")
    return client

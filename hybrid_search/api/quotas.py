"""Per-caller call rates on the public endpoints (429 + Retry-After past the settings' limits)."""

from __future__ import annotations

from flask import Flask, current_app, request

from hybrid_search.api.auth import caller_client, is_admin
from hybrid_search.core.errors import RateLimitedError
from hybrid_search.stores.redis.rate_limits import RateLimits

# the console's search page runs the same search: it counts against the same share
PUBLIC = frozenset({"search.run_search", "search.opensearch_search", "events.post_events", "console.search_page"})


def limit_call_rates(app: Flask) -> None:
    @app.before_request
    def _count() -> None:
        if request.endpoint not in PUBLIC or is_admin():
            return
        services = current_app.extensions["hybrid_search"]
        settings = services.settings
        client = caller_client()
        bucket, limit = (
            (f"client:{client}", settings.client_calls_per_minute)
            if client is not None
            else (f"address:{request.remote_addr}", settings.anonymous_calls_per_minute)
        )
        if limit <= 0:
            return
        retry_after = RateLimits(services.redis, settings.products_alias, services.clock).over(bucket, limit)
        if retry_after:
            raise RateLimitedError(f"more than {limit} calls a minute; retry in {retry_after} s", retry_after)

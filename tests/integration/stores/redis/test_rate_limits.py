"""Call counters in the real Redis, and the 429s they give on the public endpoints."""

from __future__ import annotations

import time
import uuid

from hybrid_search.api import create_app
from hybrid_search.stores.redis.client import connect
from hybrid_search.stores.redis.rate_limits import WINDOW_S, RateLimits
from hybrid_search.stores.services import Services


class Clock:
    """A test's clock: 15 s into a minute of its own, moved on by hand (no test waits for a minute to turn)."""

    def __init__(self) -> None:
        self.now = (time.time() // WINDOW_S + uuid.uuid4().int % 10**6) * WINDOW_S + 15.0

    def __call__(self) -> float:
        return self.now


def test_counts_within_the_limit_then_tells_how_long_to_wait(settings):
    clock = Clock()
    limits = RateLimits(connect(settings.redis_url), settings.products_alias, clock)
    assert [limits.over("b", 3) for _ in range(3)] == [0, 0, 0]
    assert limits.over("b", 3) == WINDOW_S - 15
    assert limits.over("other", 3, cost=3) == 0 and limits.over("other", 3, cost=1) > 0
    clock.now += WINDOW_S - 15  # the next minute counts afresh
    assert limits.over("b", 3) == 0


def test_without_redis_nobody_is_limited(settings):
    down = RateLimits(connect("redis://127.0.0.1:9/0", timeout_s=1), "x")
    assert down.over("b", 0) == 0


def test_callers_past_their_share_get_429_with_retry_after(search_settings, catalog):
    client = f"limited-{uuid.uuid4().hex[:6]}"
    limited = search_settings.model_copy(
        update={"client_keys": {"limited-key": client}, "client_calls_per_minute": 3, "user_events_per_minute": 2}
    )
    api = create_app(services=Services.from_settings(limited, Clock())).test_client()
    key = {"X-API-Key": "limited-key"}
    assert [api.get("/search?q=bag", headers=key).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/search?q=bag", headers=key)
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= WINDOW_S
    assert api.get("/search?q=bag", headers={"X-API-Key": "dev-admin-key"}).status_code == 200


def test_events_per_user_are_limited(search_settings, catalog):
    client = f"events-{uuid.uuid4().hex[:6]}"
    limited = search_settings.model_copy(update={"client_keys": {"events-key": client}, "user_events_per_minute": 2})
    api = create_app(services=Services.from_settings(limited, Clock())).test_client()
    key = {"X-API-Key": "events-key"}
    click = {
        "action_name": "click",
        "user_id": "u-busy",
        "event_attributes": {"object": {"object_id": next(iter(catalog))}},
    }
    assert api.post("/events", json=[click, click], headers=key).status_code == 202
    response = api.post("/events", json=click, headers=key)
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert api.post("/events", json={**click, "user_id": "u-calm"}, headers=key).status_code == 202


def test_anonymous_callers_are_counted_by_their_own_address_behind_a_proxy(search_settings, catalog):
    limited = search_settings.model_copy(update={"anonymous_calls_per_minute": 2, "proxy_hops": 1})
    api = create_app(services=Services.from_settings(limited, Clock())).test_client()
    first, second = (f"10.{uuid.uuid4().int % 250}.{n}.1" for n in (1, 2))
    calls = [api.get("/search?q=bag", headers={"X-Forwarded-For": first}).status_code for _ in range(3)]
    assert calls == [200, 200, 429]
    assert api.get("/search?q=bag", headers={"X-Forwarded-For": second}).status_code == 200


def test_the_consoles_search_counts_against_the_same_share(search_settings, catalog):
    """/ui/search answered 200 while /search answered 429 (the probe of 2026-12-05)."""
    limited = search_settings.model_copy(update={"anonymous_calls_per_minute": 2, "proxy_hops": 1})
    api = create_app(services=Services.from_settings(limited, Clock())).test_client()
    address = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.7.1"}
    assert [api.get("/search?q=bag", headers=address).status_code for _ in range(2)] == [200, 200]
    response = api.get("/ui/search?q=bag", headers=address)
    assert response.status_code == 429 and response.headers["Retry-After"]

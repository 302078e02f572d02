"""POST /events: user behaviour in User Behavior Insights style, stored and folded into user profiles;
POST /events/delete: the admin deletes a client's events by their ids.

Events are sent by a client (a storefront backend) with its key: they belong to that client
(``application``), and so do the users they name; a batch is checked whole (timestamps, products
in the catalog, Redis reachable) before any of it is written."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.api.auth import require_admin, require_client
from hybrid_search.api.bodies import json_body, json_object
from hybrid_search.core.catalog import EventIn, parse_model
from hybrid_search.core.errors import InvalidInputError, RateLimitedError
from hybrid_search.ranking.rerank import AFFINITY_FIELDS
from hybrid_search.stores.opensearch.events import delete_events, write_events
from hybrid_search.stores.opensearch.products import resolve_named
from hybrid_search.stores.opensearch.search import get_sources
from hybrid_search.stores.redis.query_log import QueryLog
from hybrid_search.stores.redis.rate_limits import RateLimits
from hybrid_search.stores.redis.users import UserProfiles

events = Blueprint("events", __name__)
MAX_EVENTS = 1000
MAX_AGE = timedelta(days=365)
MAX_CLOCK_SKEW = timedelta(minutes=5)
PROFILE_FIELDS = ["fused_vector", *AFFINITY_FIELDS]


@events.post("/events")
def post_events() -> tuple[Response, int]:
    client = require_client("events")
    body = json_body()
    rows = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if rows is None:
        raise InvalidInputError("body", "must be an event object or an array of events")
    if not 1 <= len(rows) <= MAX_EVENTS:
        raise InvalidInputError("body", f"send 1 to {MAX_EVENTS} events")
    parsed = [parse_model(EventIn, row, f"events[{i}].") for i, row in enumerate(rows)]
    now = datetime.now(UTC)
    for i, event in enumerate(parsed):
        if not (event.user_id or event.client_id):
            raise InvalidInputError(f"events[{i}].user_id", "user_id or client_id is required")
        if not now - MAX_AGE <= event.timestamp <= now + MAX_CLOCK_SKEW:
            raise InvalidInputError(f"events[{i}].timestamp", "must be within the last 365 days, not in the future")
        if event.application not in (None, client):
            raise InvalidInputError(f"events[{i}].application", f"this key sends the events of {client!r}")
    services = current_app.extensions["hybrid_search"]
    settings = services.settings
    if settings.user_events_per_minute:
        limits = RateLimits(services.redis, settings.products_alias, services.clock)
        for user, count in Counter(e.user_id for e in parsed if e.user_id).items():
            retry_after = limits.over(f"events:{client}:{user}", settings.user_events_per_minute, count)
            if retry_after:
                raise RateLimitedError(
                    f"user {user!r}: more than {settings.user_events_per_minute} events a minute", retry_after
                )
    on_products = list(enumerate(parsed))  # every event names a product (object_id_field: product_id)
    # a catalog that cannot be read now is a 503 before anything is written
    keys = resolve_named(
        services.opensearch,
        settings.products_alias,
        [
            (f"events[{i}].event_attributes.object.object_id", e.event_attributes.object.object_id)
            for i, e in on_products
        ],
    )
    products = get_sources(services.opensearch, settings.products_alias, sorted(set(keys)), PROFILE_FIELDS)
    for (i, event), key in zip(on_products, keys, strict=True):
        if key not in products:  # deleted since it was resolved
            raise InvalidInputError(f"events[{i}].event_attributes.object.object_id", "no such product in the catalog")
        event.event_attributes.object.object_id = key  # stored as "<merchant>/<product id>"
    users = UserProfiles(services.redis, settings.products_alias, settings.user_vector_decay)
    personal = [e for _, e in on_products if e.user_id]
    if personal:
        users.check()
    searched = {e.query_id for e in parsed if e.query_id}
    texts = {}
    if searched and settings.query_log_ttl_s:  # what each search was for, for the click model
        texts = QueryLog(services.redis, settings.products_alias, settings.query_log_ttl_s).texts(searched)
    docs = [
        e.model_dump(mode="json", exclude_none=True)
        | {"application": client}
        | ({"user_query": texts[e.query_id]} if e.query_id in texts else {})
        for e in parsed
    ]
    write_events(services.opensearch, settings.events_alias, docs)
    for event in personal:
        key = event.event_attributes.object.object_id
        users.record(client, event.user_id, event.action_name, key, products[key])
    return jsonify({"accepted": len(parsed)}), 202


# what an admin deletes events by (with the client that sent them): UBI's ids of who and when
DELETABLE_BY = ("user_id", "client_id", "session_id", "query_id")


@events.post("/events/delete")
def delete_events_by_ids() -> tuple[Response, int]:
    """The admin deletes a client's events by any of their ids (``{"client": ..., "session_id":
    ...}``): what no user-facing call reaches, such as a test event that names a session only."""
    require_admin("deleting events")
    body = json_object()
    client = body.get("client")
    if not isinstance(client, str) or not client:
        raise InvalidInputError("client", "name the client that sent the events")
    match = {name: body[name] for name in DELETABLE_BY if name in body}
    unknown = sorted(set(body) - {"client", *DELETABLE_BY})
    if unknown:
        raise InvalidInputError(unknown[0], f"not an id events are deleted by ({', '.join(DELETABLE_BY)})")
    if not match:
        raise InvalidInputError("body", f"name at least one of {', '.join(DELETABLE_BY)}")
    for name, value in match.items():
        if not isinstance(value, str) or not value:
            raise InvalidInputError(name, "must be a non-empty string")
    services = current_app.extensions["hybrid_search"]
    deleted = delete_events(services.opensearch, services.settings.events_alias, client, match)
    return jsonify({"client": client, "events_deleted": deleted}), 200

"""POST /events: user behaviour in User Behavior Insights style, stored and folded into user profiles."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from hybrid_search.catalog import EventIn, parse_model
from hybrid_search.errors import InvalidInputError
from hybrid_search.opensearch.events import write_events
from hybrid_search.opensearch.search import get_sources
from hybrid_search.users import UserProfiles

events = Blueprint("events", __name__)
MAX_EVENTS = 1000
PROFILE_FIELDS = ["fused_vector", "article_type", "colour", "brand", "gender"]


@events.post("/events")
def post_events() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    rows = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if rows is None:
        raise InvalidInputError("body", "must be an event object or an array of events")
    if not 1 <= len(rows) <= MAX_EVENTS:
        raise InvalidInputError("body", f"send 1 to {MAX_EVENTS} events")
    parsed = [parse_model(EventIn, row, f"events[{i}].") for i, row in enumerate(rows)]
    for i, event in enumerate(parsed):
        if not (event.user_id or event.client_id):
            raise InvalidInputError(f"events[{i}].user_id", "user_id or client_id is required")
    services = current_app.extensions["hybrid_search"]
    settings = services.settings
    personal = [e for e in parsed if e.user_id]
    # the products are read first: a catalog that cannot be read now is a 503 before anything is written
    products = get_sources(
        services.opensearch,
        settings.products_alias,
        sorted({e.event_attributes.object.object_id for e in personal}),
        PROFILE_FIELDS,
    )
    write_events(
        services.opensearch, settings.events_alias, [e.model_dump(mode="json", exclude_none=True) for e in parsed]
    )
    users = UserProfiles(services.redis, settings.products_alias)
    for event in personal:
        product = products.get(event.event_attributes.object.object_id)
        if product is not None:
            users.record(event.user_id, event.action_name, product)
    return jsonify({"accepted": len(parsed)}), 202

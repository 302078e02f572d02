"""DELETE /users/<id>: forget a user, their profile and every event their client sent about them.

The client key that owns the user may call it; the admin key may too, naming the client
(``?client=``), since users belong to the client that sent their events."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from hybrid_search.api.auth import caller_client, is_admin
from hybrid_search.core.errors import InvalidInputError, UnauthorisedError
from hybrid_search.stores.opensearch.events import delete_user_events
from hybrid_search.stores.redis.users import UserProfiles

users = Blueprint("users", __name__)


@users.delete("/users/<path:user_id>")
def forget_user(user_id: str) -> tuple[Response, int]:
    if is_admin():
        client = request.args.get("client", "")
        if not client:
            raise InvalidInputError("client", "the admin key names the client the user belongs to (?client=)")
    else:
        client = caller_client()
        if client is None:
            raise UnauthorisedError(
                "forgetting a user needs the client X-API-Key that sent their events, or the admin key"
            )
    services = current_app.extensions["hybrid_search"]
    profiles = UserProfiles(services.redis, services.settings.products_alias)
    profiles.check()  # both stores reachable before either is changed
    events = delete_user_events(services.opensearch, services.settings.events_alias, client, user_id)
    profile = profiles.forget(client, user_id)
    return jsonify({"user_id": user_id, "client": client, "profile_deleted": profile, "events_deleted": events}), 200

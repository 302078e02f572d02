"""UBI events the integration tests send to /events."""

from __future__ import annotations


def purchases(user: str, products: list[str]) -> list[dict]:
    """One purchase event by ``user`` of each of ``products``."""
    return [
        {
            "action_name": "purchase",
            "user_id": user,
            "session_id": "s",
            "event_attributes": {"object": {"object_id": p}},
        }
        for p in products
    ]

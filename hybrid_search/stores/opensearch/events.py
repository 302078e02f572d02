"""Behaviour events (UBI style) in the events index."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from opensearchpy import OpenSearch, helpers

from hybrid_search.core.errors import BackendError
from hybrid_search.models.encoders.behaviour import Interaction
from hybrid_search.stores.opensearch.client import translated_errors


def write_events(client: OpenSearch, alias: str, events: Sequence[dict[str, Any]], refresh: bool = False) -> None:
    actions = [{"_op_type": "index", "_index": alias, "_source": event} for event in events]
    with translated_errors(f"writing {len(events)} events"):
        _, errors = helpers.bulk(client, actions, raise_on_error=False, refresh="wait_for" if refresh else False)
    if errors:
        raise BackendError(f"{len(errors)} of {len(events)} events were not written: {errors[0]}")


def count_events(client: OpenSearch, alias: str) -> int:
    """Events stored under ``alias`` (0 before the first)."""
    with translated_errors(f"counting {alias}"):
        if not client.indices.exists(index=alias):
            return 0
        return int(client.count(index=alias)["count"])


def _scan(client: OpenSearch, alias: str, query: dict[str, Any], fields: list[str], what: str) -> Iterator[dict]:
    """The ``fields`` of every event matching ``query``, streamed (none before the first event: a shop
    whose events index is yet to be made has none, and its training run must not fail on that)."""
    with translated_errors(what):
        if not client.indices.exists(index=alias):
            return
        for hit in helpers.scan(client, index=alias, query={"query": query, "_source": fields}, size=2000):
            yield hit["_source"]


def iter_interactions(client: OpenSearch, alias: str) -> Iterator[Interaction]:
    """Every event on a product, grouped by session (or by user when an event has no session),
    within the application (client) that sent it: two clients' "u1" are two users."""
    query = {"exists": {"field": "event_attributes.object.object_id"}}
    fields = ["application", "session_id", "user_id", "client_id", "action_name", "event_attributes.object.object_id"]
    for event in _scan(client, alias, query, fields, "reading events"):
        who = event.get("session_id") or event.get("user_id") or event.get("client_id") or ""
        session = f"{event.get('application', '')}\x1f{who}"
        yield Interaction(session, event["event_attributes"]["object"]["object_id"], event["action_name"])


def iter_search_events(client: OpenSearch, alias: str) -> Iterator[dict[str, Any]]:
    """Impressions and clicks stamped with the query text they were served for (``user_query``)."""
    query = {
        "bool": {"filter": [{"exists": {"field": "user_query"}}, {"terms": {"action_name": ["impression", "click"]}}]}
    }
    fields = ["query_id", "user_query", "action_name", "event_attributes.object.object_id"]
    fields.append("event_attributes.position.ordinal")
    return _scan(client, alias, query, fields, "reading search events")


def delete_events(client: OpenSearch, alias: str, application: str, match: dict[str, str]) -> int:
    """Delete every event ``application`` sent whose fields hold all of ``match`` (field -> value);
    how many went."""
    filters = [{"term": {"application": application}}, *({"term": {k: v}} for k, v in match.items())]
    return _delete_by_query(client, alias, {"bool": {"filter": filters}}, f"the events of {application!r}")


def delete_user_events(client: OpenSearch, alias: str, application: str, user_id: str) -> int:
    """Delete every event ``application`` sent that names ``user_id`` as its user or as its client
    (UBI's ``client_id``: the device or browser a shopper who never signed in is known by); how
    many went."""
    names = {"bool": {"should": [{"term": {"user_id": user_id}}, {"term": {"client_id": user_id}}]}}
    query = {"bool": {"filter": [{"term": {"application": application}}, names]}}
    return _delete_by_query(client, alias, query, f"the events of user {user_id!r}")


def _delete_by_query(client: OpenSearch, alias: str, query: dict[str, Any], what: str) -> int:
    with translated_errors(f"deleting {what}"):
        if not client.indices.exists(index=alias):
            return 0
        client.indices.refresh(index=alias)  # events sent a moment ago are found too
        response = client.delete_by_query(
            index=alias, body={"query": query}, params={"refresh": "true", "conflicts": "proceed"}
        )
    if response.get("failures"):
        raise BackendError(f"{len(response['failures'])} of {what} were not deleted")
    return int(response["deleted"])

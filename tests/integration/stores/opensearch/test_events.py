"""Reading the events index on the real node."""

from __future__ import annotations

import uuid

from hybrid_search.stores.opensearch.client import make_client
from hybrid_search.stores.opensearch.events import count_events, iter_interactions, iter_search_events


def test_a_shop_without_an_events_index_has_no_events_rather_than_an_error(search_settings):
    """A training run failed at its profile step ("reading search events: not found") for a shop
    whose events alias had no index yet."""
    client, alias = make_client(search_settings), f"absent-{uuid.uuid4().hex[:8]}-events"
    assert count_events(client, alias) == 0
    assert list(iter_search_events(client, alias)) == [] and list(iter_interactions(client, alias)) == []

"""Removing what an integration test created on the shared node."""

from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import OpenSearchClient


def drop_test_indices(client: OpenSearchClient, settings: Settings) -> None:
    """Every index and template a test's settings name: versioned indices, templates, profiles."""
    for alias in (settings.products_alias, settings.events_alias):
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.indices.delete_index_template(name=alias, ignore=[404])
    client.indices.delete(index=settings.profiles_index, ignore_unavailable=True)

"""Querying: a query understood and encoded, its legs run, blended or ranked, reranked per user, paged."""

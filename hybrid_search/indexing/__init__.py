"""Indexing: uploads validated and written pending, photos by content hash, embedding batches, reindex and reconcile."""

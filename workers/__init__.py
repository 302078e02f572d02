"""Celery workers that compute embeddings and write them into OpenSearch."""

"""hybrid_search: multimodal hybrid product search on OpenSearch."""

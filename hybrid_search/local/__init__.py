"""Start and stop the local OpenSearch node and Redis used by default and by the tests."""

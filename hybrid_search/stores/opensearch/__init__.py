"""The only package that talks to OpenSearch (and imports opensearchpy)."""

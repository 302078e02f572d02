"""``python -m hybrid_search.cli``: how the CLI starts its own workers and API."""

from hybrid_search.cli import run

run()

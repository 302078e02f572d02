"""The ``hybrid-search`` command: local services, catalogs, training, evaluation, the API and workers,
one module per command group (each registers its commands on ``group.main``)."""

from __future__ import annotations

import sys

import click

from hybrid_search.cli import catalog, evaluation, local, serving, training, up  # noqa: F401 - they register their commands
from hybrid_search.cli.group import main
from hybrid_search.core.errors import HybridSearchError


def run() -> None:
    """Entry point that turns our errors into a one-line message and exit status 1."""
    try:
        main(standalone_mode=True)
    except HybridSearchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

"""The ``hybrid-search`` command: local services, indices and the API server."""

from __future__ import annotations

import json
import sys

import click

from hybrid_search.errors import HybridSearchError
from hybrid_search.local.opensearch import LocalNodeConfig, LocalOpenSearch, ensure_artifacts, read_versions
from hybrid_search.local.redis import LocalRedis, ensure_redis_server
from hybrid_search.settings import Settings


def local_opensearch(settings: Settings) -> LocalOpenSearch:
    port = settings.opensearch_port
    config = LocalNodeConfig(
        node_dir=settings.data_dir / f"opensearch-{port}",
        http_port=port,
        transport_port=port + 100,
        heap=settings.local_opensearch_heap,
    )
    return LocalOpenSearch(settings.cache_dir, config)


def local_redis(settings: Settings) -> LocalRedis:
    return LocalRedis(settings.data_dir / f"redis-{settings.redis_port}", settings.redis_port)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Multimodal hybrid product search on OpenSearch."""
    try:
        ctx.obj = Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid HYBRID_SEARCH_ settings: {exc}") from exc


@main.group()
def local() -> None:
    """The local OpenSearch node (with k-NN) and Redis."""


@local.command("install")
@click.pass_obj
def local_install(settings: Settings) -> None:
    """Fetch and cache the OpenSearch artifacts and install redis-server (idempotent)."""
    versions = read_versions()
    click.echo(f"OpenSearch {versions.opensearch} + k-NN {versions.knn}: {ensure_artifacts(settings.cache_dir)}")
    click.echo(f"redis-server: {ensure_redis_server()}")


@local.command("up")
@click.pass_obj
def local_up(settings: Settings) -> None:
    """Start the local node and Redis (or keep the running ones) and wait until both answer."""
    _start_local(settings)


def _start_local(settings: Settings) -> None:
    node, rds = local_opensearch(settings), local_redis(settings)
    click.echo(f"starting Redis on port {rds.port} ...")
    rds.start()
    click.echo(f"starting OpenSearch at {node.config.url} (first start fetches artifacts) ...")
    node.start(timeout_s=settings.local_start_timeout_s)
    click.echo(json.dumps({"opensearch": node.status(), "redis": rds.status()}, indent=2))


@local.command("down")
@click.pass_obj
def local_down(settings: Settings) -> None:
    """Stop the local node and Redis."""
    for name, service in (("opensearch", local_opensearch(settings)), ("redis", local_redis(settings))):
        click.echo(f"{name}: {'stopped' if service.stop() else 'was not running'}")


@local.command("status")
@click.pass_obj
def local_status(settings: Settings) -> None:
    """Print pid and health of the local node and Redis; exit 1 unless both are healthy."""
    status = {"opensearch": local_opensearch(settings).status(), "redis": local_redis(settings).status()}
    click.echo(json.dumps(status, indent=2))
    if not all(part["healthy"] for part in status.values()):
        sys.exit(1)


@main.command("init-indices")
@click.pass_obj
def init_indices(settings: Settings) -> None:
    """Install the index templates and make sure each alias points at a versioned index."""
    from hybrid_search.opensearch.client import make_client
    from hybrid_search.opensearch.indices import ensure_indices

    for alias, index in ensure_indices(make_client(settings), settings).items():
        click.echo(f"{alias} -> {index}")


@main.command("serve")
@click.pass_obj
def serve(settings: Settings) -> None:
    """Run the API under gunicorn (foreground)."""
    from gunicorn.app.base import BaseApplication

    from hybrid_search.api import create_app

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.api_host}:{settings.api_port}")
            self.cfg.set("workers", settings.api_workers)
            self.cfg.set("accesslog", "-")

        def load(self):  # noqa: ANN202 - gunicorn's hook
            return create_app(settings)

    click.echo(f"API on http://{settings.api_host}:{settings.api_port}")
    _Server().run()


@main.command("up")
@click.pass_context
def up(ctx: click.Context) -> None:
    """Bring up the whole system on embedded defaults: node, Redis, indices, API."""
    settings: Settings = ctx.obj
    _start_local(settings)
    ctx.invoke(init_indices)
    ctx.invoke(serve)


def run() -> None:
    """Entry point that turns our errors into a one-line message and exit status 1."""
    try:
        main(standalone_mode=True)
    except HybridSearchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

"""``hybrid-search local ...``: the local OpenSearch node (or cluster) and Redis."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import click

from hybrid_search.cli.group import main
from hybrid_search.core.settings import Settings
from hybrid_search.local.dictionaries import ensure_dictionaries
from hybrid_search.local.opensearch import (
    LocalNodeConfig,
    LocalOpenSearch,
    cluster_configs,
    ensure_artifacts,
    read_versions,
)
from hybrid_search.local.process import ManagedProcess
from hybrid_search.local.redis import LocalRedis, ensure_redis_server
from hybrid_search.local.security import APP_USER


def local_opensearch(settings: Settings, secure: bool | None = None, nodes: int | None = None) -> list[LocalOpenSearch]:
    """The local node, or the nodes of the local cluster; ``secure`` and ``nodes`` None: as it was
    started (its certificates, its nodes' folders)."""
    port = settings.opensearch_port
    base = LocalNodeConfig(
        node_dir=settings.data_dir / f"opensearch-{port}",
        http_port=port,
        transport_port=port + 100,
        heap=settings.local_opensearch_heap,
        secure=bool(secure),
        app_index_patterns=(f"{settings.products_alias}*", f"{settings.events_alias}*"),
    )
    if nodes is None:
        started = [d for d in base.node_dir.glob(f"{base.cluster_name}-*") if (d / "config").is_dir()]
        nodes = max(1, len(started))
    if secure is None:
        base = replace(base, secure=base.secure_files.tls_dir.is_dir())
    return [LocalOpenSearch(settings.cache_dir, config) for config in cluster_configs(base, nodes)]


def local_redis(settings: Settings) -> LocalRedis:
    return LocalRedis(settings.data_dir / f"redis-{settings.redis_port}", settings.redis_port)


@main.group()
def local() -> None:
    """The local OpenSearch node (with k-NN) and Redis."""


@local.command("install")
@click.pass_obj
def local_install(settings: Settings) -> None:
    """Fetch and cache the OpenSearch artifacts, install redis-server and the query dictionaries (idempotent)."""
    v = read_versions()
    home = ensure_artifacts(settings.cache_dir)
    click.echo(f"OpenSearch {v.opensearch} + k-NN {v.knn} + neural-search {v.neural_search}: {home}")
    click.echo(f"redis-server: {ensure_redis_server()}")
    click.echo(f"query dictionaries: {' '.join(ensure_dictionaries(settings)) or 'none'}")


@local.command("up")
@click.option(
    "--secure",
    is_flag=True,
    help="with the security plugin: TLS from a CA of our own, an admin for set-up and the application's user",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 9),
    default=1,
    show_default=True,
    help="a cluster of this many nodes on loopback (HTTP on the port and the next ones)",
)
@click.pass_obj
def local_up(settings: Settings, secure: bool, nodes: int) -> None:
    """Start the local node (or cluster) and Redis (or keep the running ones) and wait until both answer."""
    cluster = start_local(settings, secure, nodes)
    node = cluster[-1]
    if nodes > 1:
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_HOSTS={','.join(n.config.url for n in cluster)}")
        click.echo(f"HYBRID_SEARCH_NUMBER_OF_SHARDS={nodes}")
        click.echo("HYBRID_SEARCH_NUMBER_OF_REPLICAS=1  # a node lost, its shards answer from the others")
    if secure:
        files = node.config.secure_files
        click.echo("every process reaches the node as the application's user with (shell syntax):")
        if nodes == 1:
            click.echo(f"HYBRID_SEARCH_OPENSEARCH_HOSTS={node.config.url}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_CA_FILE={files.ca}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_USER={APP_USER}")
        click.echo(f"HYBRID_SEARCH_OPENSEARCH_PASSWORD_FILE={files.app_password}")
        click.echo(f"(the admin's password, for set-up only: {files.admin_password})")


def start_local(settings: Settings, secure: bool = False, nodes: int = 1) -> list[LocalOpenSearch]:
    """Start Redis and the node(s); the last node started waits for the cluster. Returns the nodes."""
    cluster, rds = local_opensearch(settings, secure, nodes), local_redis(settings)
    click.echo(f"starting Redis on port {rds.port} ...")
    rds.start()
    for i, node in enumerate(cluster, start=1):
        click.echo(f"starting OpenSearch at {node.config.url} (first start fetches artifacts) ...")
        node.start(timeout_s=settings.local_start_timeout_s, wait=i == len(cluster))
    status = [node.status() for node in cluster]
    click.echo(json.dumps({"opensearch": status[0] if nodes == 1 else status, "redis": rds.status()}, indent=2))
    return cluster


@local.command("down")
@click.pass_obj
def local_down(settings: Settings) -> None:
    """Stop the worker started by `up`, the local node and Redis."""
    services = [
        ("worker", local_worker(settings)),
        *(("opensearch", node) for node in local_opensearch(settings)),
        ("redis", local_redis(settings)),
    ]
    for name, service in services:
        click.echo(f"{name}: {'stopped' if service.stop() else 'was not running'}")


@local.command("status")
@click.pass_obj
def local_status(settings: Settings) -> None:
    """Print pid and health of the local node and Redis; exit 1 unless both are healthy."""
    nodes = [node.status() for node in local_opensearch(settings)]
    status = {"opensearch": nodes[0] if len(nodes) == 1 else nodes, "redis": local_redis(settings).status()}
    click.echo(json.dumps(status, indent=2))
    if not all(part["healthy"] for part in [*nodes, status["redis"]]):
        sys.exit(1)


def local_worker(settings: Settings) -> ManagedProcess:
    directory = settings.data_dir / f"worker-{settings.redis_port}"
    return ManagedProcess("worker", directory / "worker.pid", directory / "worker.log")


def local_api(settings: Settings) -> ManagedProcess:
    directory = settings.data_dir / f"api-{settings.api_port}"
    return ManagedProcess("api", directory / "api.pid", directory / "api.log")

"""``hybrid-search up``: the whole system on embedded defaults, and a catalog loaded, embedded and trained."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import click

from hybrid_search.cli.catalog import (
    catalog_map,
    catalog_map_options,
    init_indices,
    read_schema_file,
    upload_catalog,
    wait_until_embedded,
)
from hybrid_search.cli.group import main, merchant_id_param
from hybrid_search.cli.local import local_api, local_worker, start_local
from hybrid_search.cli.serving import serve
from hybrid_search.cli.training import follow_training
from hybrid_search.core.catalog import ProductIn
from hybrid_search.core.errors import LocalServiceError
from hybrid_search.core.settings import Settings
from hybrid_search.local.dictionaries import ensure_dictionaries
from hybrid_search.local.keys import ensure_keys, keys_path


@main.command("up")
@click.option(
    "--catalog",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="a catalog (a JSONL, CSV or Parquet file, or a folder holding one products.* and its photos) "
    "to load, embed and train on once the system is up",
)
@catalog_map_options
@click.option(
    "--merchant",
    default="catalog",
    show_default=True,
    callback=lambda ctx, param, value: merchant_id_param(value),
    help="the merchant the catalog is loaded for",
)
@click.pass_context
def up(
    ctx: click.Context,
    catalog: Path | None,
    maps: tuple[str, ...],
    preset: str,
    schema_file: Path | None,
    merchant: str,
) -> None:
    """Bring up the whole system on embedded defaults: node, Redis, indices, a worker, the API. With a
    catalog: load it, and follow its embedding and training until it is searchable at full quality."""
    settings: Settings = ctx.obj
    if keys := ensure_keys(settings, merchant):
        os.environ.update(keys)  # the worker and the API started below, and this process, serve with them
        ctx.obj = settings = Settings()
        click.echo(f"API keys: {keys_path(settings)} (in a shell: set -a; . {keys_path(settings)}; set +a)")
    start_local(settings)
    try:
        click.echo(f"query dictionaries: {' '.join(ensure_dictionaries(settings)) or 'none'}")
    except LocalServiceError as exc:
        click.echo(f"queries in other languages are not translated: {exc}", err=True)
    ctx.invoke(init_indices)
    worker_process = local_worker(settings)
    worker_process.start([sys.executable, "-m", "hybrid_search.cli", "worker"], lambda: True, 10)
    click.echo(f"worker running (log: {worker_process.log_file})")
    url = f"http://{settings.api_host}:{settings.api_port}"
    if catalog is None:
        click.echo(f"web console: {url}/ui (merchants: a merchant key; search engineers: the admin key)")
        ctx.invoke(serve)
        return
    api = local_api(settings)
    api.start([sys.executable, "-m", "hybrid_search.cli", "serve"], lambda: _answers(f"{url}/health"), 300)
    click.echo(f"API on {url} (log: {api.log_file}); loading {catalog}")
    started = time.time()
    loaded, accepted = upload_catalog(
        settings, catalog, merchant, 64, None, catalog_map(maps, preset), read_schema_file(schema_file)
    )
    from hybrid_search.stores.opensearch.client import make_client

    wait_until_embedded(make_client(settings), settings, merchant, len(loaded.products))
    if accepted and settings.train_automatically:
        run = follow_training(settings, started)
        if run["state"] != "done":
            click.echo(f"training failed ({run.get('error')}); searches use the models the index had")
    click.echo(f"searchable: {url}/search?q={quote(_sample_query(loaded.products[0]))}")
    click.echo(f"try: curl -s '{url}/search?q={quote(_sample_query(loaded.products[0]))}&size=3'")
    click.echo(f"web console: {url}/ui/search?q={quote(_sample_query(loaded.products[0]))}")
    click.echo("Ctrl-C stops the API (the node, Redis and the worker keep running: hybrid-search local down)")
    try:
        while api.pid() is not None:
            time.sleep(1)
    except KeyboardInterrupt:
        api.stop()


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=2):  # noqa: S310 - our own API on a configured address
            return True
    except (OSError, ValueError):
        return False


def _sample_query(product: ProductIn) -> str:
    """A query made of the first product's colour and type ("navy blue shirts")."""
    words = [product.colour, product.article_type]
    return " ".join(w for w in words if w).lower() or product.title

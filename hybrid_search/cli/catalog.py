"""Catalog and index commands: ``init-indices``, ``load-catalog``, ``reindex``, ``rebuild-behaviour``,
``drop-index``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from tqdm import tqdm

from hybrid_search.cli.group import main, merchant_id_param, training_state
from hybrid_search.core.settings import Settings

if TYPE_CHECKING:
    from hybrid_search.core.field_map import FieldMap
    from hybrid_search.core.schema import CatalogSchema
    from hybrid_search.indexing.catalog_files import CatalogFile


@main.command("init-indices")
@click.option("--wait", type=float, default=0.0, show_default=True, help="seconds to wait for the cluster to answer")
@click.pass_obj
def init_indices(settings: Settings, wait: float) -> None:
    """Install the index templates and make sure each alias points at a versioned index."""
    from hybrid_search.core.errors import BackendError, ServiceUnavailableError
    from hybrid_search.models.sets import ModelSet
    from hybrid_search.stores.opensearch.client import cluster_health, make_client
    from hybrid_search.stores.opensearch.indices import ensure_indices

    client = make_client(settings)
    deadline = time.monotonic() + wait
    while True:  # a container starts beside its cluster, not after it
        try:
            cluster_health(client)
            break
        except (ServiceUnavailableError, BackendError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(2)
    for alias, index in ensure_indices(client, settings, ModelSet.from_settings(settings)).items():
        click.echo(f"{alias} -> {index}")


def catalog_map_options(command: Callable) -> Callable:
    """``--map`` and ``--preset``: how a catalog file's rows become products (``catalog_map``), and
    ``--schema``: the catalog schema to apply before they are uploaded."""
    command = click.option(
        "--schema",
        "schema_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="a catalog schema (JSON: its fields' types and roles) applied before the catalog is uploaded; "
        "the catalog is checked against it first",
    )(command)
    command = click.option(
        "--preset",
        type=click.Choice(["auto", "upload", "fashion"]),
        default="auto",
        show_default=True,
        help="the mapping --map adds to: the upload format, the shared fashion catalog's, or the one "
        "the file's first row looks like",
    )(command)
    return click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="where a product field comes from: title=name, brand=maker.name, category_path=dept,aisle, "
        "attributes.material=specs.material, attributes.*=specs (repeat; a field not mapped reads the "
        "column of its own name)",
    )(command)


@main.command("load-catalog")
@click.argument("location", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--merchant", default="catalog", show_default=True, callback=lambda ctx, param, value: merchant_id_param(value)
)
@catalog_map_options
@click.option("--chunk", default=64, show_default=True, help="products per upload (small: workers start at once)")
@click.option("--limit", type=int, default=None, help="load only the first N products")
@click.option("--wait/--no-wait", default=True, show_default=True, help="wait until every product is embedded")
@click.pass_obj
def load_catalog(
    settings: Settings,
    location: Path,
    merchant: str,
    maps: tuple[str, ...],
    preset: str,
    schema_file: Path | None,
    chunk: int,
    limit: int | None,
    wait: bool,
) -> None:
    """Upload a catalog (a JSONL, CSV or Parquet file, or a folder holding one products.* file, photos
    named by path inside the folder) through the queue and the workers. The whole file and every
    photo are checked first: a bad row writes nothing. Once it is embedded, the workers train the
    models on it (hybrid-search status shows the run)."""
    from hybrid_search.stores.opensearch.client import make_client

    catalog, _ = upload_catalog(
        settings, location, merchant, chunk, limit, catalog_map(maps, preset), read_schema_file(schema_file)
    )
    if wait:
        wait_until_embedded(make_client(settings), settings, merchant, len(catalog.products))


def read_schema_file(path: Path | None) -> CatalogSchema | None:
    """The catalog schema a ``--schema`` file declares, validated (InvalidInputError names the field)."""
    from hybrid_search.api.bodies import parse_json
    from hybrid_search.core.schema import CatalogSchema

    return None if path is None else CatalogSchema.parse(parse_json(path.read_text(encoding="utf-8"), path.name))


def catalog_map(maps: tuple[str, ...], preset: str) -> FieldMap | None:
    """The mapping ``--map`` and ``--preset`` ask for; None: the preset the file's first row reads with."""
    from hybrid_search.core.field_map import PRESETS, FieldMap

    if not maps and preset == "auto":
        return None
    base = PRESETS["upload" if preset == "auto" else preset]
    return FieldMap({**base.sources, **FieldMap.parse(maps).sources})


def upload_catalog(
    settings: Settings,
    location: Path,
    merchant: str,
    chunk: int,
    limit: int | None,
    field_map: FieldMap | None = None,
    schema: CatalogSchema | None = None,
) -> tuple[CatalogFile, int]:
    """Check ``location``'s whole catalog (against ``schema`` where one is given), apply the schema,
    then upload the catalog; returns it and how many products were accepted."""
    from hybrid_search.indexing.catalog_files import read_catalog
    from hybrid_search.indexing.catalog_schema import apply_schema
    from hybrid_search.indexing.ingest import submit_products
    from hybrid_search.queue import enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client

    catalog = read_catalog(location, settings, field_map, limit, schema)
    products = catalog.products
    click.echo(f"{catalog.path}: {len(products)} products checked, read as {catalog.read_as}")
    if catalog.unread_columns:
        click.echo(f"columns no product field reads (see --map): {', '.join(catalog.unread_columns)}")
    settings = settings.model_copy(update={"import_dir": catalog.path.parent})
    client = make_client(settings)
    if schema is not None:
        applied = apply_schema(client, settings, schema)
        click.echo(f"catalog schema {applied.schema.name} applied as version {applied.schema.version}")
        if applied.rebuilt:
            click.echo(f"a field's type changed: the catalog was copied into {applied.rebuilt}, the alias moved there")
    enqueue = enqueue_embedding(make_celery(settings))
    accepted = unchanged = 0
    with tqdm(total=len(products), desc="upload", unit="product") as bar:
        for start in range(0, len(products), chunk):
            batch = products[start : start + chunk]
            submission = submit_products(client, settings, merchant, batch, {}, enqueue)
            accepted += len(submission.accepted)
            unchanged += len(submission.unchanged)
            bar.update(len(batch))
    click.echo(f"{accepted} queued, {unchanged} unchanged")
    if accepted:
        training_state(settings).note_changes(accepted, catalog_load=True)
    return catalog, accepted


def wait_until_embedded(client: Any, settings: Settings, merchant: str, total: int) -> None:
    from hybrid_search.stores.opensearch.products import refresh, status_counts

    with tqdm(total=total, desc="embedded", unit="product") as bar:
        while True:
            refresh(client, settings.products_alias)
            counts = status_counts(client, settings.products_alias, merchant)
            done = counts.get("ready", 0) + counts.get("failed", 0)
            bar.update(done - bar.n)
            if counts.get("pending", 0) == 0:
                break
            time.sleep(2)
    click.echo(json.dumps(counts))


@main.group("schema")
def schema_group() -> None:
    """The catalog schema: the products' fields, their types and roles (filter, facet, sort)."""


@schema_group.command("show")
@click.pass_obj
def schema_show(settings: Settings) -> None:
    """Print the schema the live index records (the fashion schema where none was applied)."""
    from hybrid_search.stores.opensearch.catalog_schema import current_schema
    from hybrid_search.stores.opensearch.client import make_client

    click.echo(json.dumps(current_schema(make_client(settings), settings.products_alias).to_meta(), indent=2))


@schema_group.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def schema_apply(settings: Settings, path: Path) -> None:
    """Apply a schema file: its fields mapped, recorded as the next version, the indexed products given
    them (a field whose type changes: a new index, the alias swapped to it)."""
    from hybrid_search.indexing.catalog_schema import apply_schema
    from hybrid_search.stores.opensearch.client import make_client

    applied = apply_schema(make_client(settings), settings, read_schema_file(path))
    click.echo(json.dumps(applied.to_json(), indent=2))


@main.command("reindex")
@click.option("--merchant", default=None, help="only this merchant's products")
@click.pass_obj
def reindex(settings: Settings, merchant: str | None) -> None:
    """Re-embed with the configured models; a new model version builds a new index, then swaps the alias."""
    from hybrid_search.indexing import reindex
    from hybrid_search.queue import ACTIVATE_WHEN_READY, enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client

    queue = make_celery(settings)
    plan = reindex.reindex(make_client(settings), settings, enqueue_embedding(queue), merchant)
    if plan.swap_pending:
        queue.send_task(ACTIVATE_WHEN_READY, args=[plan.index], countdown=10)
    click.echo(
        f"{plan.queued} products queued into {plan.index}"
        + ("; the alias moves there when none is pending" if plan.swap_pending else "")
    )


@main.command("rebuild-behaviour")
@click.pass_obj
def rebuild_behaviour(settings: Settings) -> None:
    """Recompute behaviour vectors from the events index and re-fuse the products they change."""
    from hybrid_search.queue import enqueue_embedding, make_celery
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.training import trainers

    counts = trainers.rebuild_behaviour_vectors(
        make_client(settings), settings, enqueue_embedding(make_celery(settings))
    )
    click.echo(json.dumps(counts))


@main.command("drop-index")
@click.argument("index")
@click.pass_obj
def drop_index(settings: Settings, index: str) -> None:
    """Delete an old physical products index (never the one the alias points at)."""
    from hybrid_search.stores.opensearch.client import make_client
    from hybrid_search.stores.opensearch.indices import drop_unused_index

    drop_unused_index(make_client(settings), settings.products_alias, index)
    click.echo(f"dropped {index}")

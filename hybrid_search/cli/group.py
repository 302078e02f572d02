"""The ``hybrid-search`` command group, and the helpers its command groups share."""

from __future__ import annotations

import sys
from typing import Any

import click
from tqdm import tqdm

from hybrid_search.core.settings import Settings


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Multimodal hybrid product search on OpenSearch."""
    try:
        ctx.obj = Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid HYBRID_SEARCH_ settings: {exc}") from exc


def merchant_id_param(value: str) -> str:
    """A valid merchant id (documents are keyed "<merchant>/<product id>"), else a usage error."""
    from hybrid_search.core.catalog import merchant_id
    from hybrid_search.core.errors import InvalidInputError

    try:
        return merchant_id(value)
    except InvalidInputError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"{exc.field}: ")) from None


def training_state(settings: Settings) -> Any:
    """The alias's training record (``stores/redis/training_state.py``)."""
    from hybrid_search.stores.redis.client import connect
    from hybrid_search.stores.redis.training_state import TrainingState

    return TrainingState(connect(settings.redis_url), settings.products_alias)


def progress_bar(items: Any, desc: str, total: int) -> Any:
    """A long step's progress on stderr (what evaluation and tuning call ``progress``)."""
    return tqdm(items, desc=desc, total=total, unit="it", file=sys.stderr)


def service_for(settings: Settings) -> Any:
    """A search service of this process's own, for the commands that search (eval, tune, train-ranker)."""
    from hybrid_search.querying.service import SearchService
    from hybrid_search.stores.services import Services

    return SearchService.from_services(Services.from_settings(settings))

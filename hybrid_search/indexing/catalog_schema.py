"""Applying a catalog schema to the products alias: a version that adds fields or changes roles is
mapped in place on every index of the family; one that changes a field's type (a mapping cannot
change in place) is built as a new index, a copy of the live one with that field typed again from
each product's ``attributes``, and the alias swapped to it, as a new model version is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hybrid_search.core.errors import ConflictError
from hybrid_search.core.schema import CatalogSchema
from hybrid_search.core.settings import Settings
from hybrid_search.models.sets import ModelSet
from hybrid_search.stores.opensearch.catalog_schema import fill_specs, map_fields, mapped_specs
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.indices import (
    activate_built,
    alias_targets,
    building_indices,
    copy_retyped,
    create_versioned_index,
    drop_superseded,
    index_meta,
    install_template,
    products_index_version,
    recorded_schema,
    render_products_template,
)


@dataclass(frozen=True)
class Applied:
    """A schema as recorded, what its fields did to the products already indexed (how many now hold a
    field it declares; the values left out as not of their field's type, field -> count), and the
    index it was built as where it retyped a field (the alias now points there)."""

    schema: CatalogSchema
    products: int
    not_of_type: dict[str, int]
    rebuilt: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema.to_meta(),
            "products": self.products,
            "not_of_type": self.not_of_type,
            "rebuilt_as": self.rebuilt,
        }


def apply_schema(client: OpenSearchClient, settings: Settings, schema: CatalogSchema) -> Applied:
    """Apply ``schema`` as the next version: in place, or, where it changes the type an index maps a
    field as (a field of a past version included), as a new index the alias is swapped to."""
    alias = settings.products_alias
    targets = alias_targets(client, alias)
    if not targets:
        raise ConflictError(f"alias {alias} points at no index; run `hybrid-search init-indices`")
    building = building_indices(client, alias)
    current = recorded_schema(client, alias)
    version = (current.version if current else 0) + 1
    retyped = schema.retyped(mapped_specs(client, [*targets, *building]))
    if not retyped:
        recorded = schema.model_copy(
            update={"version": version, "mapping_version": current.mapping_version if current else 0}
        )
        indices = [*targets, *building]
        map_fields(client, settings, recorded, indices)
        products, not_of_type = 0, Counter()
        for index in indices:
            filled, skipped = fill_specs(client, index, recorded)
            products, not_of_type = max(products, filled), not_of_type + skipped
        return Applied(recorded, products, dict(not_of_type))
    if building:
        raise ConflictError(
            f"{building[0]} is being built for {alias}: change the type of {', '.join(retyped)} once it is "
            "live (a new type builds a new index too)"
        )
    recorded = schema.model_copy(update={"version": version, "mapping_version": version})
    return _rebuilt(client, settings, recorded, targets[0], retyped)


def _rebuilt(
    client: OpenSearchClient, settings: Settings, schema: CatalogSchema, live: str, retyped: list[str]
) -> Applied:
    """``schema`` as a new index of the live one's models: the template first (so the index is created
    with the new types), then a copy of every product as it is, vectors and all, but the ``retyped``
    fields, typed again from ``attributes``; uploads meanwhile are written to both indices (it is
    the one being built). The alias then moves, and the old index stays for a rollback
    (``keep_superseded_indices``)."""
    alias = settings.products_alias
    meta = index_meta(client, live)[live]
    models = ModelSet.from_meta(meta["models"]) if "models" in meta else ModelSet.from_settings(settings)
    install_template(client, alias, render_products_template(settings, alias, schema))
    kept = {key: value for key, value in meta.items() if key not in ("alias", "building", "catalog_schema")}
    target = create_versioned_index(
        client,
        alias,
        products_index_version(models.version, schema.mapping_version),
        activate=False,
        meta={**kept, "models": models.to_meta(), "catalog_schema": schema.to_meta()},
    )
    copy_retyped(client, live, target, retyped)
    products, not_of_type = fill_specs(client, target, schema)
    activate_built(client, alias, target)
    drop_superseded(client, alias, settings.keep_superseded_indices)
    return Applied(schema, products, dict(not_of_type), rebuilt=target)

"""A catalog schema applied to the products alias: the declared fields mapped on every index of the
family (the live one, the one being built) and in the template (the next one), the schema recorded
in their ``_meta`` under the next version, and the products already there given the declared fields
from their ``attributes``. Adding fields and changing roles happen in place; the type an index maps
a field as cannot change (``CatalogSchema.check_mapped``)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch

from hybrid_search.core.errors import ConflictError, InvalidInputError
from hybrid_search.core.schema import SPECS, SPECS_TEXT, SPECS_TEXT_MAPPING, CatalogSchema, fashion_schema, typed
from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import translated_errors
from hybrid_search.stores.opensearch.indices import (
    alias_targets,
    building_indices,
    install_template,
    recorded_schema,
    render_products_template,
    update_meta,
)
from hybrid_search.stores.opensearch.products import StoredProduct, iter_stored, refresh, update_guarded


def current_schema(client: OpenSearch, alias: str) -> CatalogSchema:
    """The schema the live index records, else the fashion schema (what /search did before schemas)."""
    return recorded_schema(client, alias) or fashion_schema()


@dataclass(frozen=True)
class Applied:
    """A schema as recorded, and what its fields did to the products already indexed: how many now
    hold a field it declares, and the values left out as not of their field's type (field -> count)."""

    schema: CatalogSchema
    products: int
    not_of_type: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.schema.to_meta(), "products": self.products, "not_of_type": self.not_of_type}


def apply_schema(client: OpenSearch, settings: Settings, schema: CatalogSchema) -> Applied:
    """Apply ``schema`` to the products alias, and give the products already indexed its declared
    fields from their ``attributes`` (a guarded update: a product re-uploaded meanwhile keeps its own)."""
    alias = settings.products_alias
    targets = alias_targets(client, alias)
    if not targets:
        raise ConflictError(f"alias {alias} points at no index; run `hybrid-search init-indices`")
    indices = [*targets, *building_indices(client, alias)]
    schema.check_mapped(mapped_specs(client, indices))
    current = recorded_schema(client, alias)
    recorded = schema.model_copy(update={"version": (current.version if current else 0) + 1})
    for index in indices:
        with translated_errors(f"mapping the catalog schema's fields on {index}"):
            properties = {SPECS: recorded.mapping(), SPECS_TEXT: SPECS_TEXT_MAPPING}
            client.indices.put_mapping(index=index, body={"properties": properties})
        update_meta(client, index, {"catalog_schema": recorded.to_meta()})
    install_template(client, alias, render_products_template(settings, alias, recorded))
    products, not_of_type = 0, Counter()
    for index in indices:
        filled, skipped = _fill_specs(client, index, recorded)
        products, not_of_type = max(products, filled), not_of_type + skipped
    return Applied(recorded, products, dict(not_of_type))


def _fill_specs(client: OpenSearch, index: str, schema: CatalogSchema, batch: int = 500) -> tuple[int, Counter]:
    """Every product's declared fields typed from its ``attributes`` where they differ from its
    ``specs``, and the built-in attributes its own fields are understood as where it lacks them
    (their text vector takes them at its next embedding, as ``specs_text``'s)."""
    slots = {name: spec.understood_as for name, spec in schema.fields.items() if spec.understood_as}
    updates: list[tuple[StoredProduct, dict[str, Any]]] = []
    filled, not_of_type = 0, Counter()
    refresh(client, index)  # a product uploaded within the refresh interval is scanned too
    for stored in iter_stored(client, index, ["attributes", SPECS, SPECS_TEXT, *slots.values()]):
        source = stored.source
        attributes = source.get("attributes") or {}
        specs = {}
        for name, spec in schema.declared.items():
            if str(attributes.get(name) or "").strip():
                try:
                    specs[name] = typed(spec.type, str(attributes[name]).strip(), name)
                except InvalidInputError:
                    not_of_type[name] += 1
        understood = {slot: value for slot, value in schema.understood(attributes).items() if not source.get(slot)}
        filled += bool(specs or understood)
        text = schema.search_text(specs)
        changed = specs != {k: v for k, v in (source.get(SPECS) or {}).items() if k in specs}
        if changed or understood or text != (source.get(SPECS_TEXT) or ""):
            updates.append((stored, {SPECS: specs, SPECS_TEXT: text or None, **understood}))
        if len(updates) >= batch:
            update_guarded(client, index, updates)
            updates = []
    update_guarded(client, index, updates)
    return filled, not_of_type


def mapped_specs(client: OpenSearch, indices: list[str]) -> dict[str, str]:
    """Declared field -> the type ``indices`` map it as (any version's, dropped from the schema or not)."""
    with translated_errors("reading the catalog schema's mappings"):
        found = client.indices.get_mapping(index=",".join(indices))
    mapped: dict[str, str] = {}
    for body in found.values():
        specs = body.get("mappings", {}).get("properties", {}).get(SPECS, {}).get("properties", {})
        mapped |= {name: field.get("type", "object") for name, field in specs.items()}
    return mapped


class LiveSchema:
    """The schema of the index the alias points at, as a process serving searches sees it: read again
    at most every ``poll_s`` (a schema applied elsewhere reaches every process within that)."""

    def __init__(self, client: OpenSearch, alias: str, poll_s: float) -> None:
        self.client, self.alias, self.poll_s = client, alias, poll_s
        self._lock = threading.Lock()
        self._schema: CatalogSchema | None = None
        self._read_at = 0.0

    def current(self) -> CatalogSchema:
        now = time.monotonic()
        with self._lock:
            if self._schema is None or now - self._read_at >= self.poll_s:
                self._schema, self._read_at = current_schema(self.client, self.alias), now
            return self._schema

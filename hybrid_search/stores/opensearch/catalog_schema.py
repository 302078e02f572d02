"""A catalog schema on the products indices: its declared fields mapped on an index and in the
template (the next index of the family), recorded in their ``_meta``, and the products already there
given its fields from their ``attributes``; and the schema as a serving process sees it.
``indexing/catalog_schema.py`` decides where a new version goes (in place, or a new index)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from opensearchpy import OpenSearch

from hybrid_search.core.schema import SPECS, SPECS_TEXT, SPECS_TEXT_MAPPING, CatalogSchema, fashion_schema
from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import translated_errors
from hybrid_search.stores.opensearch.indices import (
    install_template,
    reanalyse,
    recorded_schema,
    render_products_template,
    update_meta,
)
from hybrid_search.stores.opensearch.products import StoredProduct, iter_stored, refresh, update_guarded


def current_schema(client: OpenSearch, alias: str) -> CatalogSchema:
    """The schema the live index records, else the fashion schema (what /search did before schemas)."""
    return recorded_schema(client, alias) or fashion_schema()


def map_fields(client: OpenSearch, settings: Settings, schema: CatalogSchema, indices: list[str]) -> None:
    """Map ``schema``'s declared fields and its analysers' sub-fields on ``indices`` (in place: they
    add fields, not change types) and in the template (the next index of the family), and record it in
    their ``_meta``. A field already mapped that gains an analyser is analysed again in every product
    that has it (an update by query: the product as stored, indexed again)."""
    alias = settings.products_alias
    template = render_products_template(settings, alias, schema)
    built_in = template["template"]["mappings"]["properties"]
    for index in indices:
        with translated_errors(f"mapping the catalog schema's fields on {index}"):
            mapped = client.indices.get_mapping(index=index)[index]["mappings"].get("properties", {})
            gaining = [path for path, subs in schema.analysed().items() if _gains(mapped, path, subs)]
            properties = {SPECS: schema.mapping(), SPECS_TEXT: SPECS_TEXT_MAPPING}
            properties |= {path: built_in[path] for path in schema.built_in_subfields()}
            client.indices.put_mapping(index=index, body={"properties": properties})
        update_meta(client, index, {"catalog_schema": schema.to_meta()})
        if gaining:
            reanalyse(client, index, gaining)
    install_template(client, alias, template)


def _gains(mapped: dict[str, Any], path: str, subfields: list[str]) -> bool:
    """Whether the field at ``path``, already mapped (``mapped``: an index's properties), lacks one of
    ``subfields`` (a field not mapped yet gains nothing: its values are written with its mapping)."""
    field: dict[str, Any] = {"properties": mapped}
    for part in path.split("."):
        field = field.get("properties", {}).get(part)
        if field is None:
            return False
    return not set(subfields) <= set(field.get("fields", {}))


def fill_specs(client: OpenSearch, index: str, schema: CatalogSchema, batch: int = 500) -> tuple[int, Counter]:
    """Every product's declared fields typed from its ``attributes`` where they differ from its
    ``specs``, and the built-in attributes its own fields are understood as where it lacks them
    (their text vector takes them at its next embedding, as ``specs_text``'s); a guarded update, so a
    product re-uploaded meanwhile keeps its own. Returns the products that hold a declared field and
    the values left out as not of their field's type (field -> count)."""
    slots = {name: spec.understood_as for name, spec in schema.fields.items() if spec.understood_as}
    updates: list[tuple[StoredProduct, dict[str, Any]]] = []
    filled, not_of_type = 0, Counter()
    refresh(client, index)  # a product uploaded within the refresh interval is scanned too
    for stored in iter_stored(client, index, ["attributes", SPECS, SPECS_TEXT, *slots.values()]):
        source = stored.source
        attributes = source.get("attributes") or {}
        specs, wrong = schema.typed_specs(attributes)
        not_of_type.update(wrong)
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

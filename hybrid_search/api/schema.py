"""/schema: the catalog schema of the products alias (core/schema.py); applying one needs the admin key."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.api.auth import require_admin
from hybrid_search.api.bodies import json_object
from hybrid_search.core.schema import CatalogSchema
from hybrid_search.indexing.catalog_schema import apply_schema
from hybrid_search.stores.opensearch.catalog_schema import current_schema

schema = Blueprint("schema", __name__)


@schema.get("/schema")
def show() -> Response:
    """The schema the live index records (the fashion schema where none was applied)."""
    services = current_app.extensions["hybrid_search"]
    return jsonify(current_schema(services.opensearch, services.settings.products_alias).to_meta())


@schema.put("/schema")
def apply() -> Response:
    """Validate the body as a schema, then map its fields, record it as the next version and give the
    products already indexed its fields (where it changes a field's type, in a new index the alias is
    swapped to); a 400 names the field, and nothing is applied."""
    settings = require_admin("schema changes")
    declared = CatalogSchema.parse(json_object())
    applied = apply_schema(current_app.extensions["hybrid_search"].opensearch, settings, declared)
    return jsonify(applied.to_json())

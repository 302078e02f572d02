"""Index templates, versioned physical indices and the aliases in front of them."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opensearchpy import OpenSearch

from hybrid_search.core.errors import BackendError, InvalidInputError
from hybrid_search.core.schema import SPECS, SPECS_TEXT, SPECS_TEXT_MAPPING, CatalogSchema
from hybrid_search.core.settings import Settings
from hybrid_search.stores.opensearch.client import translated_errors
from hybrid_search.stores.opensearch.profiles import ensure_profiles_index

if TYPE_CHECKING:
    from hybrid_search.models.sets import ModelSet

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "index_templates"


def load_template(name: str) -> dict[str, Any]:
    """The template body stored as ``index_templates/<name>.json``."""
    return json.loads((TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def render_products_template(settings: Settings, alias: str, schema: CatalogSchema | None = None) -> dict[str, Any]:
    """The products template for indices named ``<alias>-*``, with dimensions, the vectors' encoder and
    shards from settings, and a catalog schema's declared fields (``specs``) and the languages it
    analyses the built-in text fields in, which a new index records in its ``_meta``."""
    body = _with_pattern(load_template("products"), alias, settings)
    mappings = body["template"]["mappings"]
    properties = mappings["properties"]
    for field, dim in settings.vector_dims().items():
        properties[field]["dimension"] = dim
        if settings.vector_encoder == "sq":
            properties[field]["method"]["parameters"]["encoder"] = {"name": "sq"}
    if schema is not None:
        properties[SPECS] = schema.mapping()
        properties[SPECS_TEXT] = SPECS_TEXT_MAPPING
        for path, subfields in schema.built_in_subfields().items():
            properties[path]["fields"] |= subfields
        mappings.setdefault("_meta", {})["catalog_schema"] = schema.to_meta()
    return body


def recorded_schema(client: OpenSearch, alias: str) -> CatalogSchema | None:
    """The catalog schema the index ``alias`` points at records (None: none applied, or no index)."""
    targets = alias_targets(client, alias)
    return index_schema(client, targets[0]) if targets else None


def index_schema(client: OpenSearch, index: str) -> CatalogSchema | None:
    """The catalog schema ``index`` records (None: none applied)."""
    recorded = index_meta(client, index).get(index, {}).get("catalog_schema")
    return CatalogSchema.model_validate(recorded) if recorded else None


def render_events_template(settings: Settings, alias: str) -> dict[str, Any]:
    return _with_pattern(load_template("events"), alias, settings)


def _with_pattern(template: dict[str, Any], alias: str, settings: Settings) -> dict[str, Any]:
    body = copy.deepcopy(template)
    body["index_patterns"] = [f"{alias}-*"]
    index = body["template"]["settings"]["index"]
    index["number_of_shards"] = settings.number_of_shards
    index["number_of_replicas"] = settings.number_of_replicas
    return body


def install_template(client: OpenSearch, alias: str, body: dict[str, Any]) -> None:
    """Create or replace the composable template named after ``alias``."""
    with translated_errors(f"installing template {alias}"):
        client.indices.put_index_template(name=alias, body=body)


def physical_index_name(alias: str, version: str) -> str:
    """``<alias>-<version>``, the version lower-cased with anything an index name cannot hold as '-'."""
    return f"{alias}-{re.sub(r'[^a-z0-9._-]+', '-', version.lower()).strip('-')}"


def products_index_version(model_version: str, mapping_version: int = 0) -> str:
    """A products index holds one model version under one template schema and one catalog schema's
    field types: a change of any (a mapping, storage, a field's type) builds a new index, as a new
    model does, and the catalog moves into it (``+c<n>``: the catalog schema version whose types it maps)."""
    catalog = f"+c{mapping_version}" if mapping_version else ""
    return f"{model_version}+s{_products_schema_version()}{catalog}"


@lru_cache(maxsize=1)
def _products_schema_version() -> int:
    """Read once: every upload asks for the index being built."""
    return int(load_template("products")["_meta"]["schema_version"])


def products_index_name(alias: str, model_version: str, mapping_version: int = 0) -> str:
    return physical_index_name(alias, products_index_version(model_version, mapping_version))


def alias_targets(client: OpenSearch, alias: str) -> list[str]:
    """The physical indices ``alias`` points at now (empty when the alias does not exist). Asked of
    the alias's own family (``<alias>-*``): a user whose role covers only its indices may ask that."""
    with translated_errors(f"reading alias {alias}"):
        if not client.indices.exists_alias(index=f"{alias}-*", name=alias):
            return []
        return sorted(client.indices.get_alias(index=f"{alias}-*", name=alias))


def create_versioned_index(
    client: OpenSearch, alias: str, version: str, activate: bool = True, meta: dict[str, Any] | None = None
) -> str:
    """Create ``<alias>-<version>`` from the installed template, with ``meta`` and the alias it is
    for added to its ``_meta``; with ``activate``, point the alias at it, else mark it as the one index
    being built for the alias.

    The alias moves in one atomic ``_aliases`` call, so readers never see it missing or doubled.
    An existing index of that version is kept, its ``_meta`` updated (the call is idempotent).
    """
    index = physical_index_name(alias, version)
    with translated_errors(f"creating index {index}"):
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
    if not activate:
        for other in building_indices(client, alias):
            if other != index:
                update_meta(client, other, {"building": False})  # abandoned: one build at a time
    update_meta(client, index, {**(meta or {}), "alias": alias, **({} if activate else {"building": True})})
    if activate:
        point_alias(client, alias, index)
    return index


def index_meta(client: OpenSearch, name: str) -> dict[str, dict[str, Any]]:
    """The ``_meta`` of every index ``name`` (an index, an alias or a pattern) resolves to, by index
    (``{}`` for an index without one, when an alias names it: its aliases keep it in the reply)."""
    with translated_errors(f"reading the mapping of {name}"):
        found = client.indices.get(index=name, params={"filter_path": "*.aliases,*.mappings._meta"})
    return {index: body.get("mappings", {}).get("_meta", {}) for index, body in found.items()}


def update_meta(client: OpenSearch, index: str, updates: dict[str, Any]) -> None:
    """Set top-level keys of ``index``'s ``_meta`` (a mapping update replaces the whole object: merge first)."""
    meta = {**index_meta(client, index).get(index, {}), **updates}
    with translated_errors(f"updating the _meta of {index}"):
        client.indices.put_mapping(index=index, body={"_meta": meta})


def building_indices(client: OpenSearch, alias: str) -> list[str]:
    """The index of ``alias``'s family being built for it (marked so, and not behind the alias yet)."""
    live = set(alias_targets(client, alias))
    with translated_errors(f"listing {alias} indices"):
        if not client.indices.exists(index=f"{alias}-*", params={"allow_no_indices": "false"}):
            return []
    return sorted(
        index for index, meta in index_meta(client, f"{alias}-*").items() if meta.get("building") and index not in live
    )


# Marked pending; and keyed "<merchant>/<product id>" (schema 4), which moves an index of schema 3 or
# older, keyed by the product id alone, to per-merchant ids.
_COPY_SCRIPT = (
    "ctx._source.status = 'pending'; ctx._source.status_reason = null; "
    "ctx._id = ctx._source.merchant_id + '/' + ctx._source.product_id;"
)


def copy_as_pending(
    client: OpenSearch,
    source: str,
    target: str,
    keep: Sequence[str] = (),
    query: dict[str, Any] | None = None,
    poll_s: float = 1.0,
) -> int:
    """Copy every document of ``source`` (matching ``query``) into ``target``, marked pending, without
    its text, photo and fused vectors except those in ``keep``; returns the count."""
    drop = [field for field in ("text_vector", "image_vector", "fused_vector") if field not in keep]
    body = {
        "source": {"index": source, "_source": {"excludes": drop}, **({"query": query} if query else {})},
        "dest": {"index": target},
        "script": {"lang": "painless", "source": _COPY_SCRIPT},
    }
    return _reindex(client, body, f"copying {source} into {target}", poll_s)["total"]


def copy_retyped(client: OpenSearch, source: str, target: str, retyped: Sequence[str], poll_s: float = 1.0) -> int:
    """Copy every document of ``source`` into ``target`` as it is (vectors and status included) but
    the declared fields ``retyped``, which ``target`` maps as another type (they are typed again from
    the product's ``attributes``); a document ``target`` already holds (an upload written there during
    the copy) is newer and kept. Returns the count copied."""
    body = {
        "conflicts": "proceed",
        "source": {"index": source, "_source": {"excludes": [f"{SPECS}.{name}" for name in retyped]}},
        "dest": {"index": target, "op_type": "create"},
    }
    return _reindex(client, body, f"copying {source} into {target}", poll_s)["created"]


def reanalyse(client: OpenSearch, index: str, paths: Sequence[str], poll_s: float = 1.0) -> int:
    """Index every product of ``index`` that has one of the fields ``paths`` again as stored, so a
    sub-field mapped since holds its words (a product written meanwhile already does: its conflict is
    skipped). Returns how many were."""
    query = {"bool": {"should": [{"exists": {"field": path}} for path in paths], "minimum_should_match": 1}}
    params = {"conflicts": "proceed", "refresh": "true", "wait_for_completion": "false"}
    what = f"analysing {', '.join(paths)} on {index} again"
    return _task(
        client, lambda: client.update_by_query(index=index, body={"query": query}, params=params), what, poll_s
    )["updated"]


def _reindex(client: OpenSearch, body: dict[str, Any], what: str, poll_s: float) -> dict[str, int]:
    params = {"refresh": "true", "wait_for_completion": "false"}
    return _task(client, lambda: client.reindex(body=body, params=params), what, poll_s)


def _task(client: OpenSearch, start: Callable[[], dict[str, Any]], what: str, poll_s: float) -> dict[str, int]:
    """Run a _reindex or an _update_by_query as an OpenSearch task and poll it: a catalog with vectors
    takes minutes to copy (HNSW graphs are built as it goes), past one request's timeout. Returns its counts."""
    with translated_errors(what):
        task = start()["task"]
        while not (status := client.tasks.get(task_id=task))["completed"]:
            time.sleep(poll_s)
    if "error" in status:
        raise BackendError(f"{what} failed: {status['error']}")
    response = status["response"]
    failures = [f for f in response.get("failures", ()) if f.get("status") != 409]  # 409: the target's is newer
    if failures:
        raise BackendError(f"{what} failed: {failures[0]}")
    return {key: int(response[key]) for key in ("total", "created", "updated")}


def point_alias(client: OpenSearch, alias: str, index: str) -> None:
    """Atomically make ``alias`` point at ``index`` alone (and be its write index)."""
    with translated_errors(f"checking index {index}"):
        if not client.indices.exists(index=index):
            raise InvalidInputError("index", f"{index} does not exist")
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in alias_targets(client, alias) if old != index
    ]
    actions.append({"add": {"index": index, "alias": alias, "is_write_index": True}})
    with translated_errors(f"pointing alias {alias} at {index}"):
        client.indices.update_aliases(body={"actions": actions})


def activate_built(client: OpenSearch, alias: str, index: str) -> None:
    """Point ``alias`` at the index built for it, which then is no longer the one being built."""
    point_alias(client, alias, index)
    update_meta(client, index, {"building": False})


def drop_superseded(client: OpenSearch, alias: str, keep: int) -> list[str]:
    """Delete the products indices of ``alias`` that swaps left behind but the ``keep`` newest (to
    point the alias back at): neither behind the alias nor being built. Only an index that records
    its models and this alias is one: another alias's index whose name shares the prefix
    (``products-eu-…`` beside ``products-…``) never is, nor one made before indices recorded their
    alias (``drop-index`` deletes those). Returns the indices deleted, oldest last."""
    live = set(alias_targets(client, alias))
    with translated_errors(f"listing {alias} indices"):
        if not client.indices.exists(index=f"{alias}-*", params={"allow_no_indices": "false"}):
            return []
        created = client.indices.get_settings(index=f"{alias}-*", name="index.creation_date")
    superseded = [
        index
        for index, meta in index_meta(client, f"{alias}-*").items()
        if "models" in meta and meta.get("alias") == alias and not meta.get("building") and index not in live
    ]
    superseded.sort(key=lambda index: (int(created[index]["settings"]["index"]["creation_date"]), index), reverse=True)
    dropped = superseded[keep:]
    for index in dropped:
        with translated_errors(f"deleting {index}"):
            client.indices.delete(index=index)
    return dropped


def drop_unused_index(client: OpenSearch, alias: str, index: str) -> None:
    """Delete ``index`` if it belongs to ``alias``'s family and the alias does not point at it."""
    if not index.startswith(f"{alias}-"):
        raise InvalidInputError("index", f"{index} is not a {alias} index")
    if index in alias_targets(client, alias):
        raise InvalidInputError("index", f"{alias} points at {index}; point it elsewhere first")
    with translated_errors(f"deleting {index}"):
        client.indices.delete(index=index)


def ensure_indices(client: OpenSearch, settings: Settings, models: ModelSet) -> dict[str, str]:
    """Install both templates and make sure each alias points at an index; returns alias -> index.
    A new products index records ``models`` (those that embed it) in its ``_meta``.

    An alias that already points somewhere is left where it is: moving it is a deliberate act
    (``create_versioned_index``), never a side effect of start-up.
    """
    result = {}
    schema = recorded_schema(client, settings.products_alias)
    for alias, body, version, meta in (
        (
            settings.products_alias,
            render_products_template(settings, settings.products_alias, schema),
            products_index_version(models.version, schema.mapping_version if schema else 0),
            {"models": models.to_meta()},
        ),
        (settings.events_alias, render_events_template(settings, settings.events_alias), "v1", None),
    ):
        install_template(client, alias, body)
        current = alias_targets(client, alias)
        result[alias] = current[0] if current else create_versioned_index(client, alias, version, meta=meta)
    # events indices are not versioned: fields the template gained since are added in place
    with translated_errors(f"updating the mapping of {settings.events_alias}"):
        client.indices.put_mapping(
            index=settings.events_alias,
            body=render_events_template(settings, settings.events_alias)["template"]["mappings"],
        )
    ensure_profiles_index(client, settings.profiles_index)
    return result

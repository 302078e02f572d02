"""Running the legs of a query in one _msearch, and passing plain searches through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensearchpy import OpenSearch

from hybrid_search.errors import BackendError, InvalidInputError
from hybrid_search.opensearch.client import translated_errors


def run_legs(client: OpenSearch, index: str, legs: Mapping[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each leg's hits (``_id``, ``_score``, ``_source``) from a single _msearch round trip."""
    if not legs:
        return {}
    body: list[dict[str, Any]] = []
    for query in legs.values():
        body += [{"index": index}, query]
    with translated_errors("searching"):
        responses = client.msearch(body=body)["responses"]
    out = {}
    for name, response in zip(legs, responses, strict=True):
        if "error" in response:
            reason = response["error"].get("reason") if isinstance(response["error"], dict) else response["error"]
            if response.get("status") == 400:
                raise InvalidInputError("q", f"the {name} leg was rejected: {reason}")
            raise BackendError(f"the {name} leg failed: {reason}")
        out[name] = response["hits"]["hits"]
    return out


def passthrough_search(client: OpenSearch, index: str, body: dict[str, Any], params: Mapping[str, str]) -> Any:
    """Forward a search unchanged (the backend's own query DSL) and return OpenSearch's answer."""
    with translated_errors(f"searching {index}"):
        return client.search(index=index, body=body, params=dict(params))


def get_source(client: OpenSearch, index: str, doc_id: str, fields: list[str]) -> dict[str, Any]:
    with translated_errors(f"reading {doc_id}"):
        return client.get(index=index, id=doc_id, params={"_source_includes": ",".join(fields)})["_source"]


def get_sources(
    client: OpenSearch, index: str, ids: list[str], fields: list[str] | None = None, excludes: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The sources (only ``fields``, or all but ``excludes``) of the documents among ``ids`` that exist."""
    if not ids:
        return {}
    params = {"_source_includes": ",".join(fields)} if fields else {"_source_excludes": ",".join(excludes or [])}
    with translated_errors("reading products"):
        docs = client.mget(index=index, body={"ids": ids}, params=params)["docs"]
    return {doc["_id"]: doc["_source"] for doc in docs if doc.get("found")}

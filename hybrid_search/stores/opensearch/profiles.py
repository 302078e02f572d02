"""Versioned blend profiles in their own OpenSearch index: ``<name>@<version>`` documents are
immutable; the ``<name>`` head document names the active version and moves with optimistic concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import opensearchpy
from opensearchpy import OpenSearch

from hybrid_search.core.errors import ConflictError, NotFoundError
from hybrid_search.ranking.profiles import BUILT_IN, DEFAULT_NAME, BlendProfile, StoredProfile, parse_reference
from hybrid_search.stores.opensearch.client import translated_errors

MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},  # a copy on a second node
    "mappings": {
        "dynamic": False,
        "properties": {
            "kind": {"type": "keyword"},
            "name": {"type": "keyword"},
            "version": {"type": "integer"},
            "created_at": {"type": "date"},
            "profile": {"type": "object", "enabled": False},
            "note": {"type": "text", "index": False},
        },
    },
}


def ensure_profiles_index(client: OpenSearch, index: str) -> None:
    with translated_errors(f"creating {index}"):
        if not client.indices.exists(index=index):
            try:
                client.indices.create(index=index, body=MAPPING)
            except opensearchpy.RequestError as exc:
                if "resource_already_exists" not in str(exc):
                    raise


def _head(client: OpenSearch, index: str, name: str) -> dict[str, Any] | None:
    with translated_errors(f"reading profile {name}"):
        try:
            return client.get(index=index, id=name)
        except opensearchpy.NotFoundError:
            return None


def get_version(client: OpenSearch, index: str, name: str, version: int) -> StoredProfile:
    if name == DEFAULT_NAME and version == 0:
        return BUILT_IN
    with translated_errors(f"reading profile {name}@{version}"):
        try:
            source = client.get(index=index, id=f"{name}@{version}")["_source"]
        except opensearchpy.NotFoundError:
            raise NotFoundError(f"profile {name} has no version {version}") from None
    return StoredProfile(
        name=name,
        version=version,
        profile=BlendProfile.model_validate(source["profile"]),
        created_at=source.get("created_at"),
        note=source.get("note", ""),
    )


def get_active(client: OpenSearch, index: str, name: str) -> StoredProfile:
    """The active version of ``name``; the built-in default when "default" was never stored."""
    head = _head(client, index, name)
    if head is None:
        if name == DEFAULT_NAME:
            return BUILT_IN
        raise NotFoundError(f"no profile named {name}")
    return get_version(client, index, name, head["_source"]["version"])


def get_reference(client: OpenSearch, index: str, reference: str) -> StoredProfile:
    """The profile ``name`` (its active version) or ``name@version`` names."""
    name, version = parse_reference(reference)
    return get_active(client, index, name) if version is None else get_version(client, index, name, version)


def save_version(client: OpenSearch, index: str, name: str, profile: BlendProfile, note: str = "") -> StoredProfile:
    """Store ``profile`` as the next version of ``name`` and make it active."""
    ensure_profiles_index(client, index)
    head = _head(client, index, name)
    version = (head["_source"]["version"] if head else 0) + 1
    created = datetime.now(UTC).isoformat()
    body = {
        "kind": "version",
        "name": name,
        "version": version,
        "created_at": created,
        "profile": profile.model_dump(mode="json"),
        "note": note,
    }
    with translated_errors(f"saving profile {name}@{version}"):
        try:
            client.create(index=index, id=f"{name}@{version}", body=body, params={"refresh": "true"})
        except opensearchpy.ConflictError:
            raise ConflictError(f"profile {name} changed meanwhile; retry") from None
    _move_head(client, index, name, version, head)
    return StoredProfile(name=name, version=version, profile=profile, created_at=created, note=note)


def activate(client: OpenSearch, index: str, name: str, version: int) -> StoredProfile:
    """Make an existing version active again (a rollback)."""
    stored = get_version(client, index, name, version)
    _move_head(client, index, name, version, _head(client, index, name))
    return stored


def _move_head(client: OpenSearch, index: str, name: str, version: int, head: dict[str, Any] | None) -> None:
    body = {"kind": "head", "name": name, "version": version, "created_at": datetime.now(UTC).isoformat()}
    params: dict[str, Any] = {"refresh": "true"}
    if head is None:
        params["op_type"] = "create"
    else:
        params.update(if_seq_no=head["_seq_no"], if_primary_term=head["_primary_term"])
    with translated_errors(f"activating profile {name}@{version}"):
        try:
            client.index(index=index, id=name, body=body, params=params)
        except opensearchpy.ConflictError:
            raise ConflictError(f"profile {name} changed meanwhile; retry") from None


def list_profiles(client: OpenSearch, index: str) -> list[dict[str, Any]]:
    """Every profile name with its active version and its number of versions."""
    body = {"size": 1000, "query": {"term": {"kind": "head"}}, "sort": [{"name": "asc"}]}
    ensure_profiles_index(client, index)
    with translated_errors("listing profiles"):
        heads = [hit["_source"] for hit in client.search(index=index, body=body)["hits"]["hits"]]
    names = {h["name"] for h in heads}
    listed = [{"name": h["name"], "active_version": h["version"]} for h in heads]
    if DEFAULT_NAME not in names:
        listed.insert(0, {"name": DEFAULT_NAME, "active_version": 0})
    return listed


def list_versions(client: OpenSearch, index: str, name: str) -> list[StoredProfile]:
    body = {
        "size": 1000,
        "query": {"bool": {"filter": [{"term": {"kind": "version"}}, {"term": {"name": name}}]}},
        "sort": [{"version": "asc"}],
    }
    with translated_errors(f"listing versions of {name}"):
        hits = client.search(index=index, body=body)["hits"]["hits"]
    versions = [
        StoredProfile(
            name=name,
            version=h["_source"]["version"],
            profile=BlendProfile.model_validate(h["_source"]["profile"]),
            created_at=h["_source"]["created_at"],
            note=h["_source"].get("note", ""),
        )
        for h in hits
    ]
    if name == DEFAULT_NAME:
        versions.insert(0, BUILT_IN)
    if not versions:
        raise NotFoundError(f"no profile named {name}")
    return versions


def delete_profile(client: OpenSearch, index: str, name: str) -> None:
    if name == DEFAULT_NAME:
        raise ConflictError("the default profile cannot be deleted; save a new version instead")
    with translated_errors(f"deleting profile {name}"):
        deleted = client.delete_by_query(
            index=index, body={"query": {"term": {"name": name}}}, params={"refresh": "true"}
        )["deleted"]
    if not deleted:
        raise NotFoundError(f"no profile named {name}")

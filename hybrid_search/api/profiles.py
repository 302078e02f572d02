"""/profiles: versioned blend profiles for search engineers (admin key)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.api.auth import require_admin
from hybrid_search.api.bodies import json_object
from hybrid_search.core.catalog import PROFILE_NAME_PATTERN, parse_model
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.ranking.profiles import BlendProfile
from hybrid_search.stores.opensearch import profiles as store

profiles = Blueprint("profiles", __name__)


def _admin() -> tuple[object, str]:
    settings = require_admin("profiles")
    return current_app.extensions["hybrid_search"].opensearch, settings.profiles_index


@profiles.get("/profiles")
def list_all() -> Response:
    client, index = _admin()
    return jsonify({"profiles": store.list_profiles(client, index)})


@profiles.get("/profiles/<name>")
def get_active(name: str) -> Response:
    client, index = _admin()
    return jsonify(store.get_active(client, index, name).model_dump(mode="json"))


@profiles.get("/profiles/<name>/versions")
def versions(name: str) -> Response:
    client, index = _admin()
    return jsonify({"versions": [p.model_dump(mode="json") for p in store.list_versions(client, index, name)]})


@profiles.put("/profiles/<name>")
def save(name: str) -> tuple[Response, int]:
    """Store the body as the next version of ``name`` and make it active."""
    client, index = _admin()
    if not re.fullmatch(PROFILE_NAME_PATTERN, name):
        raise InvalidInputError("name", "lowercase letters, digits, '_' or '-', at most 64")
    body = json_object()
    note = str(body.pop("note", ""))[:1000]
    profile = parse_model(BlendProfile, body)
    return jsonify(store.save_version(client, index, name, profile, note).model_dump(mode="json")), 201


@profiles.post("/profiles/<name>/activate")
def activate(name: str) -> Response:
    client, index = _admin()
    version = json_object(default={}).get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError("version", "must be a stored version number")
    return jsonify(store.activate(client, index, name, version).model_dump(mode="json"))


@profiles.delete("/profiles/<name>")
def delete(name: str) -> tuple[str, int]:
    client, index = _admin()
    store.delete_profile(client, index, name)
    return "", 204

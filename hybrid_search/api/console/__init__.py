"""The web console under /ui: server-rendered pages over the same services, keys and errors as the
API, for shoppers' searches (no key), merchants (a merchant key) and search engineers (the admin key).
A key typed into the console travels in an HttpOnly, same-site cookie that only these routes read."""

from __future__ import annotations

from flask import Blueprint

console = Blueprint("console", __name__, url_prefix="/ui", template_folder="templates", static_folder="static")

# each module adds its pages to the blueprint
from hybrid_search.api.console import engineers, keys, merchant, search  # noqa: E402, F401

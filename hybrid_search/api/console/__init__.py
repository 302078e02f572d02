"""The web console under /ui: server-rendered pages over the same services, keys and errors as the
API, for shoppers' searches (no key), merchants (a merchant key) and search engineers (the admin key).
A key typed into the console opens a session (stores/redis/sessions.py) whose id, never the key, travels in
an HttpOnly, same-site cookie that only these routes read."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from hybrid_search.core.errors import ForbiddenError

console = Blueprint("console", __name__, url_prefix="/ui", template_folder="templates", static_folder="static")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The pages' own scripts and styles are inline; nothing is loaded from elsewhere, and no page may be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@console.before_request
def _same_origin() -> None:
    """A form that changes something (login included) must come from the console's own pages: the
    browser's Origin (or, where it sends none, Referer) names the site that posted it. SameSite
    cookies alone let a form posted from another site set a key, and older browsers send them."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("Origin") or request.headers.get("Referer")
    parts = urlsplit(sent) if sent else None
    if parts is None or f"{parts.scheme}://{parts.netloc}" != request.host_url.rstrip("/"):
        raise ForbiddenError("a console form is accepted only from the console's own pages (Origin)")


@console.after_request
def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# each module adds its pages to the blueprint
from hybrid_search.api.console import engineers, keys, merchant, search  # noqa: E402, F401

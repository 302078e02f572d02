"""The console's sign-in (a session id in a cookie) and its errors, shown as a page with the API's status code."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for

from hybrid_search.api.auth import KEY_COOKIE, known_key
from hybrid_search.api.console import console
from hybrid_search.api.errors import error_response, status_for
from hybrid_search.core.errors import HybridSearchError, RateLimitedError, ServiceUnavailableError, UnauthorisedError
from hybrid_search.stores.redis.sessions import close_session, open_session

log = logging.getLogger(__name__)
# a console page to return to: /ui, a path under it and a query string; no scheme, host or control characters
CONSOLE_PATH = re.compile(r"/ui(/[\w./%~-]*)?(\?[\w./%~&=+,:-]*)?")


@console.post("/key")
def set_key() -> Response:
    """Sign in with the key typed into the console: a session whose id (never the key) an HttpOnly,
    same-site cookie carries; an empty key signs out. An unknown key is a 401 and opens nothing."""
    target = request.form.get("next", "")
    if not CONSOLE_PATH.fullmatch(target):  # back to a console page, never elsewhere (nor a header split)
        target = url_for("console.search_page")
    services = current_app.extensions["hybrid_search"]
    prefix = services.settings.products_alias
    key = request.form.get("key", "").strip()
    if key and not known_key(key):
        raise UnauthorisedError("unknown key")
    response = redirect(target)
    close_session(services.redis, prefix, request.cookies.get(KEY_COOKIE, ""))
    if key:
        session_id = open_session(services.redis, prefix, key)
        response.set_cookie(
            KEY_COOKIE, session_id, httponly=True, samesite="Strict", secure=request.is_secure, path="/ui"
        )
    else:
        response.delete_cookie(KEY_COOKIE, path="/ui")
    return response


def page(template: str, error: HybridSearchError | None = None, **context: Any) -> tuple[str, int]:
    """A console page with ``error`` shown on it, under the API's status code for it (200 without one)."""
    status = status_for(error) if error else 200
    return render_template(template, error=error, status=status, **context), status


@console.errorhandler(HybridSearchError)
def error_page(error: HybridSearchError) -> tuple[str | Response, int] | tuple[str, int, dict[str, str]]:
    """An error on a console page as a page (with the key form on a 401); the page's own
    scripts, which ask for JSON, get the API's JSON error."""
    if request.accept_mimetypes.best == "application/json":
        return error_response(error)
    if status_for(error) >= 500:
        log.warning("%s: %s", error.code, error, exc_info=error)
    body, status = page("console/error.html", error)
    if isinstance(error, ServiceUnavailableError | RateLimitedError):  # when to come back, as the API says
        return body, status, {"Retry-After": str(error.retry_after_s)}
    return body, status

"""What ``hybrid-search serve`` runs: the gunicorn worker (JSON for the errors gunicorn answers
itself), and the check that keeps the built-in keys on this machine."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.sync import SyncWorker

from hybrid_search.settings import Settings

# (status, reason, our error code) for what gunicorn refuses before the app sees the request
LIMIT_ERRORS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (LimitRequestLine, 414, "URI Too Long", "uri_too_long"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large", "request_header_fields_too_large"),
)


def write_json_error(client: socket.socket, status: int, reason: str, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    with contextlib.suppress(OSError):  # the caller may be gone already
        util.write_nonblock(client, head + body)


class JsonErrorWorker(SyncWorker):
    """gunicorn's sync worker; a request line or headers over gunicorn's limits get our JSON error
    body, as every other 4xx does, instead of gunicorn's HTML page."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: Exception) -> None:
        for kind, status, reason, code in LIMIT_ERRORS:
            if isinstance(exc, kind):
                self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
                write_json_error(client, status, reason, code, str(exc))
                return
        super().handle_error(req, client, addr, exc)


def built_in_keys_beyond_loopback(settings: Settings) -> str | None:
    """Why the API must not serve with these settings (None: it may): the built-in ``dev-*`` keys,
    which anyone can read in the code, on a bind beyond this machine."""
    built_in = settings.built_in_keys()
    if not built_in or _loopback(settings.api_host):
        return None
    return (
        f"{', '.join(built_in)} {'holds' if len(built_in) == 1 else 'hold'} built-in dev-* keys, and "
        f"HYBRID_SEARCH_API_HOST={settings.api_host} "
        "serves beyond this machine: set keys of your own "
        "(python3 -c 'import secrets; print(secrets.token_urlsafe())' makes one)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other host name may resolve beyond this machine

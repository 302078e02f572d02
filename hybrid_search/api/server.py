"""What ``hybrid-search serve`` runs: the gunicorn worker (JSON for the errors gunicorn answers
itself), and the check that keeps the built-in keys on this machine."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

from hybrid_search.settings import Settings

# gunicorn's error statuses -> our error codes (the app's own errors never reach gunicorn's writer)
CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def write_json_error(client: socket.socket, status: int, reason: str, message: str) -> None:
    """What gunicorn writes for a request it refuses or fails itself (a malformed request line or
    header, one over its limits, a worker error), as our JSON error body rather than its HTML page."""
    body = json.dumps({"error": CODES.get(status, "error"), "message": message or reason}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    with contextlib.suppress(OSError):  # the caller may be gone already
        util.write_nonblock(client, head + body)


class JsonErrorWorker(SyncWorker):
    """gunicorn's sync worker, whose own error answers (its ``util.write_error``: every 400, 414,
    431, 500 it writes) are our JSON error body, as every other error is."""

    def init_process(self) -> None:
        util.write_error = write_json_error  # this worker process's gunicorn only
        super().init_process()


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

"""The gunicorn worker ``hybrid-search serve`` runs: JSON for the errors gunicorn answers itself."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.sync import SyncWorker

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

"""What ``hybrid-search serve`` runs: the gunicorn worker (a request is read whole before a thread is
given to it, JSON for the errors gunicorn answers itself), and the check that keeps the built-in keys
on this machine."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import logging
import re
import selectors
import socket
import time
from concurrent.futures import Future
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker
from gunicorn.workers.sync import SyncWorker

from hybrid_search.core.settings import Settings

log = logging.getLogger(__name__)

# gunicorn's error statuses -> our error codes (the app's own errors never reach gunicorn's writer)
CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
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
    431, 500 it writes) are our JSON error body, as every other error is. A slow client holds it for
    as long as it sends (``api_worker=sync``: measured against ``BufferedWorker`` in bench/reliability)."""

    def init_process(self) -> None:
        util.write_error = write_json_error  # this worker process's gunicorn only
        super().init_process()


MAX_BUFFERED = 1 << 20  # a request this big that came in at speed is no slow client: a thread reads the rest
MAX_HEAD = 64 << 10  # a head without its end by then is gunicorn's to refuse (431, 400)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)


class IncomingRequest:
    """One request's bytes as they arrive, before any thread is given to it.

    ``ready`` once the head and the body its ``Content-Length`` (or last chunk) announces are in, or
    once there is more than a slow client would send (``MAX_BUFFERED``, ``MAX_HEAD``: gunicorn reads or
    refuses the rest). It must keep coming: ``deadline`` is ``grace_s`` after the first byte was
    awaited, plus a second for every ``min_rate`` bytes received (Apache's mod_reqtimeout rule), so a
    client trickling a byte every few seconds is cut off after ``grace_s`` while a large upload at
    any reasonable speed is not."""

    def __init__(self, started: float, grace_s: float, min_rate: int) -> None:
        self.started, self.grace_s, self.min_rate = started, grace_s, min_rate
        self.data = bytearray()
        self.head_end = -1
        self.length: int | None = 0  # body bytes announced (None: chunked)
        self.expects_continue = False
        self.continued = False  # a "100 Continue" was sent: gunicorn must not send another

    @property
    def deadline(self) -> float:
        return self.started + self.grace_s + len(self.data) / self.min_rate

    def feed(self, data: bytes) -> None:
        self.data += data
        if self.head_end < 0 and (end := self.data.find(b"\r\n\r\n")) >= 0:
            self.head_end = end + 4
            self._read_head(bytes(self.data[:end]))

    def _read_head(self, head: bytes) -> None:
        lengths, chunked = [], False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                chunked = chunked or b"chunked" in value
            elif name == b"expect":
                self.expects_continue = value == b"100-continue"
        if chunked:
            self.length = None
        elif len(lengths) == 1 and lengths[0].isdigit():
            self.length = int(lengths[0])
        elif lengths:
            self.length = 0  # a malformed length: gunicorn answers 400 without a body

    @property
    def ready(self) -> bool:
        if len(self.data) >= MAX_BUFFERED:
            return True
        if self.head_end < 0:
            return len(self.data) > MAX_HEAD
        body = len(self.data) - self.head_end
        if self.length is None:
            return self.data.endswith(b"0\r\n\r\n")
        return body >= self.length

    @property
    def wants_continue(self) -> bool:
        """Whether the client waits for a "100 Continue" before it sends the body."""
        return self.expects_continue and not self.continued and not self.ready

    def payload(self) -> bytes:
        """The bytes to parse, without the ``Expect`` header where "100 Continue" was sent already."""
        data = bytes(self.data)
        if self.continued:
            head = _EXPECT_CONTINUE.sub(b"", data[: self.head_end - 2])
            data = head + data[self.head_end - 2 :]
        return data


LINGER_S = 2.0  # how long a closed connection's unread bytes are drained (gunicorn's close_graceful)


class LingeringConn(TConn):
    """A connection whose graceful close waits in the worker's event loop, not in it: gunicorn's
    ``close_graceful`` reads until the client closes, for up to 2 s, and a client that keeps a
    finished connection open (a pool) held the whole process that long (measured: the next request
    took 1.7 s, with sync workers as with gthread's)."""

    def __init__(self, worker: BufferedWorker, *args: object) -> None:
        super().__init__(*args)
        self.worker = worker

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self)
        else:
            super().close()


class BufferedWorker(ThreadWorker):
    """gunicorn's threaded worker that reads each request whole in its event loop before a thread is
    given to it: a client that trickles its head or body costs a buffer, never a thread, and is
    answered a JSON 408 when it falls behind (``IncomingRequest``). A process takes new connections
    only while one of its threads is free, so requests wait in the kernel's queue for any idle
    process, as with sync workers, rather than behind a busy one; for the same reason ``serve`` keeps
    no connection alive (a busy process would hold a connection's next request). Errors gunicorn
    answers itself are our JSON, as in ``JsonErrorWorker``."""

    read_grace_s = 10.0  # set from the settings by ``serve``
    read_min_rate = 16384

    def init_process(self) -> None:
        util.write_error = write_json_error
        self.reading: dict[TConn, IncomingRequest] = {}
        self.lingering: dict[TConn, float] = {}  # closing connections -> when to stop draining them
        self.in_flight = 0
        super().init_process()

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self.in_flight < self.cfg.threads)

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self._read(LingeringConn(self, self.cfg, client, address, listener.getsockname()))

    def _read(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        self.reading[conn] = IncomingRequest(time.monotonic(), self.read_grace_s, self.read_min_rate)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: TConn, client: socket.socket) -> None:
        incoming = self.reading[conn]
        try:
            data = client.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was in
            self._drop(conn)
            return
        incoming.feed(data)
        if incoming.wants_continue:
            with contextlib.suppress(OSError):
                client.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            incoming.continued = True
        if not incoming.ready:
            return
        self.poller.unregister(client)
        del self.reading[conn]
        conn.init()
        conn.parser.unreader.unread(incoming.payload())
        conn.data_ready = True
        self.enqueue_req(conn)

    def enqueue_req(self, conn: TConn) -> None:
        self.in_flight += 1
        if self.in_flight >= self.cfg.threads:
            super().set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn: TConn, fs: Future) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def murder_pending(self) -> None:
        """Also answer 408 to the requests that fell behind their deadline, and stop draining the
        connections that lingered long enough."""
        super().murder_pending()
        now = time.monotonic()
        for conn, incoming in list(self.reading.items()):
            if now > incoming.deadline:
                waited = now - incoming.started
                message = f"the request did not arrive in time ({len(incoming.data)} bytes in {waited:.0f} s)"
                write_json_error(conn.sock, 408, "Request Timeout", message)
                log.info("408 for %s: %s", conn.client, message)
                self._drop(conn, graceful=True)
        for conn, until in list(self.lingering.items()):
            if now > until:
                self._stop_lingering(conn)

    def linger(self, conn: TConn) -> None:
        """Close ``conn`` as gunicorn's ``close_graceful`` does (send our FIN, read what the client
        still sends until it closes, at most ``LINGER_S``), the reading done by the event loop."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_lingering, conn))
        except (OSError, ValueError, KeyError):
            util.close(conn.sock)
            return
        self.lingering[conn] = time.monotonic() + LINGER_S

    def _on_lingering(self, conn: TConn, client: socket.socket) -> None:
        try:
            if client.recv(65536):
                return  # the client's last bytes, read so that closing sends no reset
        except BlockingIOError:
            return
        except OSError:
            pass
        self._stop_lingering(conn)

    def _stop_lingering(self, conn: TConn) -> None:
        self.lingering.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def _drop(self, conn: TConn, graceful: bool = False) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.reading.pop(conn, None)
        self.nr_conns -= 1
        conn.close(graceful)


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

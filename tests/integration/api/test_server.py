"""``hybrid-search serve`` as deployed: gunicorn in front of the app, on the real node and Redis."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests


def test_what_gunicorn_refuses_itself_is_our_json_error(served):
    too_long = requests.get(f"{served}/search", params={"q": "x" * 100_000}, timeout=30)
    assert too_long.status_code == 414
    assert too_long.headers["Content-Type"] == "application/json"
    assert too_long.json()["error"] == "uri_too_long"
    headers = {f"X-Filler-{i}": "x" for i in range(200)}  # over gunicorn's 100 header fields
    too_many = requests.get(f"{served}/health", headers=headers, timeout=30)
    assert too_many.status_code == 431 and too_many.json()["error"] == "request_header_fields_too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b"NOT A REQUEST LINE AT ALL\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    ],
)
def test_a_request_gunicorn_cannot_parse_is_our_json_400(served, raw):
    """gunicorn's own 400 pages were HTML (the probe of 2026-12-05)."""
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == "bad_request"


def test_the_app_behind_it_answers_as_in_process(served, catalog):
    assert requests.get(f"{served}/search", params={"q": "backpack", "size": 3}, timeout=60).json()["hits"]
    missing = requests.get(f"{served}/no-such-page", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def _answer(conn: socket.socket) -> bytes:
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    return answer


def test_slow_clients_hold_no_worker_and_get_a_json_408(served, catalog):
    """The probe of 2026-12-05: a body sent a byte every 5 s held a sync worker until gunicorn killed
    it (~35 s, an HTML 500); five such clients took the API down."""
    host, port = served.removeprefix("http://").split(":")
    slow = []
    for _ in range(3):
        conn = socket.create_connection((host, int(port)), timeout=30)
        conn.sendall(
            b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
        )
        slow.append(conn)
    started = time.monotonic()
    for _ in range(3):  # while they trickle, the one process answers searches at once
        assert requests.get(f"{served}/search", params={"q": "backpack", "size": 3}, timeout=5).json()["hits"]
        for conn in slow:
            conn.sendall(b" ")
        time.sleep(0.3)
    assert time.monotonic() - started < 2
    for conn in slow:
        with conn:
            head, body = _answer(conn).split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 408") and b"Content-Type: application/json" in head
        assert json.loads(body)["error"] == "request_timeout"
    assert time.monotonic() - started < 10  # 2 s of grace (HYBRID_SEARCH_REQUEST_READ_S), a second's sweep


def test_bodies_that_arrive_in_parts_chunks_or_after_100_continue_are_served(served, catalog):
    host, port = served.removeprefix("http://").split(":")
    body = b'{"q": "backpack", "size": 2}'
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert conn.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"  # a client waits for this before its body
        conn.sendall(body[:5])
        time.sleep(0.2)
        conn.sendall(body[5:])
        answer = _answer(conn)
    head, payload = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"100 Continue" not in answer
    assert len(json.loads(payload)["hits"]) == 2
    chunked = requests.post(
        f"{served}/search",
        data=iter([b'{"q": "back', b'pack", "size": 2}']),  # a generator is sent chunked
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert chunked.request.headers["Transfer-Encoding"] == "chunked"
    assert chunked.status_code == 200 and len(chunked.json()["hits"]) == 2


def test_a_client_that_keeps_a_finished_connection_open_holds_nothing(served):
    """gunicorn closes a connection gracefully: it reads until the client closes, up to 2 s, and did
    so in the worker, so a client (a pool) keeping its finished connection open held the process
    that long: the next request took 1.7 s."""
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as held:
        held.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held.recv(12) == b"HTTP/1.1 200"
        time.sleep(0.2)  # the response is out; the connection stays open on our side
        started = time.monotonic()
        assert requests.get(f"{served}/health", timeout=10).ok
        assert time.monotonic() - started < 0.5

import pytest

from hybrid_search.api.server import IncomingRequest, built_in_keys_beyond_loopback
from hybrid_search.core.settings import Settings

OWN_KEYS = {"admin_key": "a-key-of-our-own", "merchant_keys": {"m-own": "demo"}, "client_keys": {"c-own": "shop"}}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "api.example.com"])
def test_the_built_in_keys_never_serve_beyond_this_machine(host):
    refusal = built_in_keys_beyond_loopback(Settings(api_host=host))
    assert refusal is not None
    assert "HYBRID_SEARCH_ADMIN_KEY, HYBRID_SEARCH_MERCHANT_KEYS, HYBRID_SEARCH_CLIENT_KEYS" in refusal
    one_left = Settings(api_host=host, **{**OWN_KEYS, "client_keys": {"dev-client-key": "x", "c-own": "shop"}})
    assert built_in_keys_beyond_loopback(one_left).startswith("HYBRID_SEARCH_CLIENT_KEYS holds")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_the_built_in_keys_serve_a_laptop(host):
    assert built_in_keys_beyond_loopback(Settings(api_host=host)) is None


def test_keys_of_ones_own_serve_anywhere():
    assert built_in_keys_beyond_loopback(Settings(api_host="0.0.0.0", **OWN_KEYS)) is None


def test_a_request_is_ready_once_its_announced_body_is_in():
    incoming = IncomingRequest(started=100.0, grace_s=10.0, min_rate=1000)
    incoming.feed(b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n")
    assert not incoming.ready
    incoming.feed(b"\r\nab")
    assert not incoming.ready and incoming.deadline == 100.0 + 10.0 + len(incoming.data) / 1000
    incoming.feed(b"cde")
    assert incoming.ready and incoming.payload().endswith(b"\r\n\r\nabcde")
    bodiless = IncomingRequest(0.0, 10.0, 1000)
    bodiless.feed(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert bodiless.ready


def test_a_chunked_body_is_ready_at_its_last_chunk_and_what_gunicorn_refuses_is_passed_on():
    chunked = IncomingRequest(0.0, 10.0, 1000)
    chunked.feed(b"POST /search HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert not chunked.ready
    chunked.feed(b"0\r\n\r\n")
    assert chunked.ready
    for head in (b"Content-Length: x1", b"Content-Length: 1\r\nContent-Length: 2"):  # gunicorn's 400s
        malformed = IncomingRequest(0.0, 10.0, 1000)
        malformed.feed(b"POST / HTTP/1.1\r\n" + head + b"\r\n\r\n")
        assert malformed.ready
    endless = IncomingRequest(0.0, 10.0, 1000)
    endless.feed(b"GET / HTTP/1.1\r\n" + b"X-Filler: y\r\n" * 6000)  # gunicorn's 431
    assert endless.ready


def test_a_client_waiting_for_100_continue_is_answered_once():
    incoming = IncomingRequest(0.0, 10.0, 1000)
    incoming.feed(b"POST /products HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert incoming.wants_continue
    incoming.continued = True  # the worker sent it
    assert not incoming.wants_continue
    incoming.feed(b"{}")
    assert incoming.payload() == b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"

import pytest

from hybrid_search.api.server import built_in_keys_beyond_loopback
from hybrid_search.settings import Settings

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

"""The photo fetcher against a real HTTP server on loopback."""

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import check_url, is_url
from hybrid_search.indexing.photo_urls import PhotoFetcher, is_public


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


PHOTO = jpeg()


class Shop(BaseHTTPRequestHandler):
    """/photo.jpg, and the ways a photo URL goes wrong."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        routes = {
            "/photo.jpg": (200, "image/jpeg", PHOTO),
            "/photo.jpg?size=large": (200, "image/jpeg; charset=binary", PHOTO),
            "/page.html": (200, "text/html", b"<html>not a photo</html>"),
            "/fake.jpg": (200, "image/jpeg", b"GIF-ish but not a photo at all"),
            "/big.jpg": (200, "image/jpeg", PHOTO + b"\0" * 4096),
        }
        if self.path == "/moved":
            self._answer(302, "text/plain", b"", {"Location": "/photo.jpg"})
        elif self.path == "/loop":
            self._answer(301, "text/plain", b"", {"Location": "/loop"})
        elif self.path == "/to-file":
            self._answer(302, "text/plain", b"", {"Location": "file:///etc/passwd"})
        elif self.path == "/streamed-big.jpg":  # no Content-Length: the reader must stop by itself
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(PHOTO + b"\0" * 4096)
            self.close_connection = True
        elif self.path in routes:
            self._answer(*routes[self.path])
        else:
            self._answer(404, "text/plain", b"no")

    def _answer(self, status: int, kind: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_photo_on_loopback_is_refused_unless_allowed(shop):
    with pytest.raises(InvalidInputError, match="127.0.0.1, not a public address") as info:
        PhotoFetcher().fetch(f"{shop}/photo.jpg")
    assert info.value.field == "image"
    assert PhotoFetcher(allow_private=True).fetch(f"{shop}/photo.jpg") == PHOTO
    assert PhotoFetcher(allow_private=True).fetch(f"{shop}/photo.jpg?size=large") == PHOTO


def test_a_name_is_checked_for_every_address_it_resolves_to(shop):
    port = shop.rsplit(":", 1)[1]
    with pytest.raises(InvalidInputError, match="localhost resolves to"):
        PhotoFetcher().fetch(f"http://localhost:{port}/photo.jpg")


def test_redirects_are_followed_a_few_times_and_checked(shop):
    fetcher = PhotoFetcher(allow_private=True)
    assert fetcher.fetch(f"{shop}/moved") == PHOTO
    with pytest.raises(InvalidInputError, match="more than 3 redirects"):
        fetcher.fetch(f"{shop}/loop")
    with pytest.raises(InvalidInputError, match="http or https, not 'file'"):
        fetcher.fetch(f"{shop}/to-file")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page.html", "text/html is not a photo"),
        ("/fake.jpg", "not a photo in a format accepted here"),
        ("/big.jpg", "bytes is over the limit"),
        ("/streamed-big.jpg", "over the limit of"),
        ("/missing.jpg", "HTTP 404"),
    ],
)
def test_what_is_not_a_photo_or_too_large_is_refused(shop, path, message):
    with pytest.raises(InvalidInputError, match=message):
        PhotoFetcher(allow_private=True, max_bytes=len(PHOTO) + 100).fetch(f"{shop}{path}")


def test_a_closed_port_and_an_unknown_name_say_so():
    with pytest.raises(InvalidInputError, match="ConnectionRefusedError"):
        PhotoFetcher(allow_private=True).fetch("http://127.0.0.1:1/photo.jpg")
    with pytest.raises(InvalidInputError, match="does not resolve"):
        PhotoFetcher().fetch("http://no-such-host.invalid/photo.jpg")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.7", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),  # a cloud's metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("8.8.8.8", True),
        ("151.101.1.69", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(address, public):
    assert is_public(address) is public


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://shop.example/p.jpg", "not 'ftp'"),
        ("file:///etc/passwd", "not 'file'"),
        ("http://user:secret@shop.example/p.jpg", "credentials"),
        ("http:///p.jpg", "names no host"),
        ("http://shop.example:99999/p.jpg", "valid port"),
    ],
)
def test_a_url_of_the_wrong_form_is_refused_at_upload(url, message):
    assert is_url(url)
    with pytest.raises(InvalidInputError, match=message) as info:
        check_url(url, "products[0].image")
    assert info.value.field == "products[0].image"


def test_names_that_are_not_urls():
    assert not is_url("images/p.jpg") and not is_url("photo") and not is_url("c:/photos/p.jpg")

"""Photos a product names by URL, fetched by the worker that embeds it.

A catalog feed names photos by URL, and a URL is an address the worker will connect to on the
uploader's word: an upload may not make it reach the cloud's metadata service, the cluster or
anything else on the inside. So a URL is checked at upload for its form (``core/photos.check_url``), and at
fetch for where it leads: every address its host resolves to must be public (no loopback,
private, link-local, shared or reserved address, an IPv4 address mapped into IPv6 included)
unless ``photo_urls_allow_private`` allows them, and the connection goes to the address that was
checked (a second lookup could answer otherwise). Redirects are followed a few times, each checked
the same way. The answer must be an image (by its type, then by its first bytes) of at most
``MAX_PHOTO_BYTES``, read no further than that.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.core.photos import MAX_PHOTO_BYTES, check_url, photo_format
from hybrid_search.core.settings import Settings

MAX_REDIRECTS = 3
TYPES = ("image/", "application/octet-stream", "binary/octet-stream")  # what a photo's Content-Type may be


class PhotoFetcher:
    """Fetches photo URLs as the module docstring says; ``fetch`` raises InvalidInputError (field
    ``image``) saying why a photo was not fetched."""

    def __init__(self, allow_private: bool = False, timeout_s: float = 10.0, max_bytes: int = MAX_PHOTO_BYTES) -> None:
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoFetcher:
        return cls(settings.photo_urls_allow_private, settings.photo_url_timeout_s)

    def fetch(self, url: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, "image")
            parts = urlsplit(url)
            https = parts.scheme.lower() == "https"
            port = parts.port or (443 if https else 80)
            address = self.address(parts.hostname or "", port)
            connection = (_PinnedHTTPS if https else _PinnedHTTP)(parts.hostname, port, address, self.timeout_s)
            try:
                path = parts.path or "/"
                connection.request("GET", f"{path}?{parts.query}" if parts.query else path, headers=_HEADERS)
                response = connection.getresponse()
                if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                    url = urljoin(url, response.getheader("Location"))
                    continue
                return self._photo(url, response)
            except (OSError, http.client.HTTPException) as exc:  # refused, timed out, TLS, a broken answer
                raise InvalidInputError("image", f"{url}: {exc.__class__.__name__}: {exc}") from None
            finally:
                connection.close()
        raise InvalidInputError("image", f"{url}: more than {MAX_REDIRECTS} redirects")

    def address(self, host: str, port: int) -> str:
        """The address to connect to: the host's first, once every address it resolves to is allowed."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise InvalidInputError("image", f"{host}: the name does not resolve ({exc})") from None
        addresses = [info[4][0] for info in found]
        if not addresses:
            raise InvalidInputError("image", f"{host}: the name does not resolve")
        if not self.allow_private:
            for address in addresses:
                if not is_public(address):
                    raise InvalidInputError(
                        "image",
                        f"{host} resolves to {address}, not a public address "
                        "(HYBRID_SEARCH_PHOTO_URLS_ALLOW_PRIVATE allows one)",
                    )
        return addresses[0]

    def _photo(self, url: str, response: http.client.HTTPResponse) -> bytes:
        if response.status != 200:
            raise InvalidInputError("image", f"{url}: HTTP {response.status}")
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if kind and not kind.startswith(TYPES):
            raise InvalidInputError("image", f"{url}: {kind} is not a photo")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise InvalidInputError("image", f"{url}: {length} bytes is over the limit of {self.max_bytes}")
        data = response.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise InvalidInputError("image", f"{url}: over the limit of {self.max_bytes} bytes")
        if photo_format(data) is None:
            raise InvalidInputError("image", f"{url}: not a photo in a format accepted here")
        return data


def is_public(address: str) -> bool:
    """Whether an address is on the public internet (``is_global``; an IPv4 address mapped into
    IPv6 is judged as the IPv4 address, a scoped IPv6 address by its address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


_HEADERS = {"User-Agent": "hybrid-search photo fetcher", "Accept": "image/*"}


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to the address that was checked; the certificate is verified for the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

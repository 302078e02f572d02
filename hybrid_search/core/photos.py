"""Product photos: decoded safely, stored on disk by content hash (an object store can replace it),
with what is computed from them kept beside them."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from hybrid_search.core.errors import InvalidInputError, NotFoundError

MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_SIDE = 12_000
# Encoders resize the short side to their input size: a 6000x1 strip would become 1.3 million
# pixels wide (seconds and gigabytes for one request) though it passes the pixel limit.
MAX_ASPECT_RATIO = 20
# The formats a shop's photos come in, by their signatures (WebP: "RIFF", then "WEBP" at byte 8)
FORMATS = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "WEBP": (b"RIFF",),
    "GIF": (b"GIF87a", b"GIF89a"),
}
DRAFT_SIDE = 512  # a JPEG larger than this is decoded at the smallest DCT scale still this large
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # a photo named by URL: fetched by a worker (indexing/photo_urls.py)


def photo_format(data: bytes) -> str | None:
    """The format a photo's first bytes name, among those a shop sends (``FORMATS``), else None."""
    for name, signatures in FORMATS.items():
        if any(data.startswith(signature) for signature in signatures):
            return name if name != "WEBP" or data[8:12] == b"WEBP" else None
    return None


def is_url(name: str) -> bool:
    """Whether a product's ``image`` names a URL rather than an uploaded part or an import path."""
    return bool(URL.match(name))


def check_url(url: str, field: str) -> None:
    """The form of a photo URL, checked at upload: http or https, a host, no credentials in it."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInputError(field, f"photos by URL are fetched over http or https, not {parts.scheme!r}")
    try:
        host, _ = parts.hostname, parts.port  # a bad port raises
    except ValueError:
        raise InvalidInputError(field, f"{url!r} is not a URL with a valid port") from None
    if not host:
        raise InvalidInputError(field, f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(field, "a photo URL may not carry credentials")


def check_full_decode(data: bytes, max_pixels: int, field: str = "photo") -> None:
    """Refuse, from its header, a photo that would be decoded at full size over ``max_pixels``: every
    format but JPEG (decoded at a reduced DCT scale), where a 100 KB PNG of 6300x6300 costs a second
    or more of CPU. For searches (any caller may send one); merchants' uploads keep ``open_image``'s limit."""
    kind = photo_format(data)
    if kind is None or kind == "JPEG":
        return  # not a photo (open_image says so) or cheap at any size open_image admits
    try:
        width, height = Image.open(io.BytesIO(data), formats=[kind]).size
    except Exception:  # malformed: open_image's 400 names it
        return
    if width * height > max_pixels:
        message = f"a {kind} of {width}x{height} is over {max_pixels} pixels for a search"
        raise InvalidInputError(field, f"{message}: send a JPEG or a smaller photo")


def open_image(data: bytes, max_pixels: int, field: str = "image") -> Image.Image:
    """Decode ``data`` as an RGB image: only the formats a shop sends, checked by their signature
    before any decoder runs (Pillow reads dozens more, each a parser an attacker can reach);
    decompression bombs and strips (too long a side, too extreme an aspect ratio) refused from the
    header; a JPEG decoded at a reduced scale where it is larger than the encoders look at."""
    kind = photo_format(data)
    if kind is None:
        raise InvalidInputError(field, f"not a photo in a format accepted here ({', '.join(FORMATS)})")
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
        width, height = image.size  # read from the header; no pixels decoded yet
        if width * height > max_pixels:
            raise InvalidInputError(field, f"{width}x{height} pixels is over the limit of {max_pixels}")
        if max(width, height) > MAX_SIDE:
            raise InvalidInputError(field, f"{width}x{height}: a side is over {MAX_SIDE} pixels")
        if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
            raise InvalidInputError(field, f"{width}x{height}: the aspect ratio is over {MAX_ASPECT_RATIO}:1")
        if kind == "JPEG":
            image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))  # DCT scaling: 1/2 to 1/8, never below the side
        image.load()
        return image.convert("RGB")
    except InvalidInputError:
        raise
    except Exception as exc:  # a decoder meeting malformed bytes raises anything (ValueError, struct.error, ...)
        raise InvalidInputError(field, f"not a readable image ({exc.__class__.__name__})") from None


class PhotoStore:
    """Content-addressed photo bytes under ``root`` (``ab/abcdef....``); writing twice is a no-op. What is
    derived from a photo (its keypoints) lies beside it, by kind (``ab/abcdef.....orb500-320px-v1``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            _write_whole(target, data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"photo {digest} is not in the store") from None

    def derived(self, digest: str, kind: str) -> bytes | None:
        """What was computed from a photo and kept beside it (``put_derived``), if it was."""
        try:
            return self.path(digest).with_name(f"{digest}.{kind}").read_bytes()
        except FileNotFoundError:
            return None

    def put_derived(self, digest: str, kind: str, data: bytes) -> None:
        """Keep ``data`` computed from a photo beside it, as ``kind`` (a name that changes with how it is
        computed), for every process to read instead of computing it again."""
        _write_whole(self.path(digest).with_name(f"{digest}.{kind}"), data)


def _write_whole(target: Path, data: bytes) -> None:
    """Write ``target`` atomically: readers never see half of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)

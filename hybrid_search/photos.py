"""Product photos: decoded safely, stored on disk by content hash (an object store can replace it)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from hybrid_search.errors import InvalidInputError, NotFoundError

MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_SIDE = 12_000
# Encoders resize the short side to their input size: a 6000x1 strip would become 1.3 million
# pixels wide (seconds and gigabytes for one request) though it passes the pixel limit.
MAX_ASPECT_RATIO = 20


def open_image(data: bytes, max_pixels: int, field: str = "image") -> Image.Image:
    """Decode ``data`` as an RGB image, rejecting non-images, decompression bombs and strips
    (too long a side, too extreme an aspect ratio) from the header, before decoding."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size  # read from the header; no pixels decoded yet
        if width * height > max_pixels:
            raise InvalidInputError(field, f"{width}x{height} pixels is over the limit of {max_pixels}")
        if max(width, height) > MAX_SIDE:
            raise InvalidInputError(field, f"{width}x{height}: a side is over {MAX_SIDE} pixels")
        if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
            raise InvalidInputError(field, f"{width}x{height}: the aspect ratio is over {MAX_ASPECT_RATIO}:1")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InvalidInputError(field, f"not a readable image ({exc.__class__.__name__})") from None
    return image.convert("RGB")


class PhotoStore:
    """Content-addressed photo bytes under ``root`` (``ab/abcdef....``); writing twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, target)  # atomic: readers never see half a photo
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"photo {digest} is not in the store") from None

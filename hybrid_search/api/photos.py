"""GET /photos/<digest>: the product photos, by the content hash every product names
(``image_hash``), for a storefront's pages (``photo_url`` in /search hits) and the console. Public,
as a shop's product photos are, and cached for good: a hash names one photo forever."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from hybrid_search.core.errors import NotFoundError
from hybrid_search.core.photos import PhotoStore

photos = Blueprint("photos", __name__)


@photos.get("/photos/<digest>")
def photo(digest: str) -> Response:
    """A product photo from the photo store (content-addressed, so cached for good)."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise NotFoundError(f"photo {digest} is not in the store")
    data = PhotoStore(current_app.extensions["hybrid_search"].settings.photo_root).get(digest)
    response = Response(data, mimetype=photo_type(data))
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response


def photo_type(data: bytes) -> str:
    """The media type of stored photo bytes, from their magic number."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"GIF8":
        return "image/gif"
    return "image/jpeg"

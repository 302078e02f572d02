"""The photos shoppers search the console with, kept in Redis for half an hour by their SHA-256, so
that the result pages' links (a link cannot carry a file) page the same photo search."""

from __future__ import annotations

import hashlib
import re

from hybrid_search.core.errors import InvalidInputError
from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import query_photo_key

KEEP_S = 1800
DIGEST = re.compile(r"[0-9a-f]{64}")


class QueryPhotos:
    """``<prefix>:query-photo:<sha256>`` holds a searched photo's bytes, expiring ``KEEP_S`` after its last use."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def keep(self, photo: bytes) -> str:
        """Keep ``photo``; its digest, which names it in links."""
        digest = hashlib.sha256(photo).hexdigest()
        with redis_errors("keeping the photo for the next pages"):
            self.redis.set(query_photo_key(self.prefix, digest), photo, ex=KEEP_S)
        return digest

    def get(self, digest: str) -> bytes:
        """The photo kept as ``digest`` (its time renewed); a 400 naming ``photo_ref`` when there is none."""
        if not DIGEST.fullmatch(digest):
            raise InvalidInputError("photo_ref", "must be the SHA-256 of a photo searched in the last half hour")
        with redis_errors("reading the photo searched"):
            photo = self.redis.getex(query_photo_key(self.prefix, digest), ex=KEEP_S)
        if photo is None:
            raise InvalidInputError("photo_ref", "the photo searched is no longer kept (half an hour): upload it again")
        return bytes(photo)

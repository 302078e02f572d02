"""The photos shoppers search the console with, kept in Redis for half an hour by their SHA-256, so
that the result pages' links (a link cannot carry a file) page the same photo search."""

from __future__ import annotations

import hashlib
import re

import redis

from hybrid_search.errors import InvalidInputError, ServiceUnavailableError

KEEP_S = 1800
DIGEST = re.compile(r"[0-9a-f]{64}")


class QueryPhotos:
    """``<prefix>:query-photo:<sha256>`` holds a searched photo's bytes, expiring ``KEEP_S`` after its last use."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def keep(self, photo: bytes) -> str:
        """Keep ``photo``; its digest, which names it in links."""
        digest = hashlib.sha256(photo).hexdigest()
        try:
            self.redis.set(self._key(digest), photo, ex=KEEP_S)
        except redis.RedisError as exc:
            raise ServiceUnavailableError("Redis unreachable: cannot keep the photo for the next pages") from exc
        return digest

    def get(self, digest: str) -> bytes:
        """The photo kept as ``digest`` (its time renewed); a 400 naming ``photo_ref`` when there is none."""
        if not DIGEST.fullmatch(digest):
            raise InvalidInputError("photo_ref", "must be the SHA-256 of a photo searched in the last half hour")
        try:
            photo = self.redis.getex(self._key(digest), ex=KEEP_S)
        except redis.RedisError as exc:
            raise ServiceUnavailableError("Redis unreachable: cannot read the photo searched") from exc
        if photo is None:
            raise InvalidInputError("photo_ref", "the photo searched is no longer kept (half an hour): upload it again")
        return bytes(photo)

    def _key(self, digest: str) -> str:
        return f"{self.prefix}:query-photo:{digest}"

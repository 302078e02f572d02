"""What each served search was for, kept in Redis for a while: the query text by its query_id, which
/events stamps on a search's impressions and clicks (UBI's ``user_query``) for the click model to
judge by; and the learned ranker's inputs by query text, which click judgments train on."""

from __future__ import annotations

import json
import zlib
from collections.abc import Collection

from hybrid_search.ranking.features import LegHits, QuerySignals
from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import features_key, query_key


class QueryLog:
    """``<prefix>:query:<query_id>`` → the query text, for ``ttl_s`` seconds. A query_id is a random
    UUID returned only to the caller of that search, so it needs no tenant of its own."""

    def __init__(self, client: Redis, prefix: str, ttl_s: int) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, query_id: str) -> str:
        return query_key(self.prefix, query_id)

    def record(self, query_id: str, text: str) -> None:
        with redis_errors("logging a query"):
            self.redis.set(self._key(query_id), text.encode(), ex=self.ttl_s)

    def texts(self, query_ids: Collection[str]) -> dict[str, str]:
        """The texts of those ``query_ids`` still logged."""
        ids = sorted(query_ids)
        if not ids:
            return {}
        with redis_errors("reading logged queries"):
            found = self.redis.mget([self._key(q) for q in ids])
        return {q: text.decode() for q, text in zip(ids, found, strict=True) if text is not None}


class FeatureLog:
    """The learned ranker's inputs as served (feature logging, as OpenSearch's LTR plugin logs
    features): for each query text served with the ranker, its latest search's legs (best-first
    (id, score) at the ranker's depth) and signals, under ``<prefix>:features:<text hash>`` for
    ``ttl_s`` seconds. ``train-ranker --qrels`` trains click judgments on them, so a ranker learns
    from what shoppers saw, not from what the legs return after the catalog has changed."""

    def __init__(self, client: Redis, prefix: str, ttl_s: int) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, text: str) -> str:
        return features_key(self.prefix, text)

    def record(self, text: str, ranker: str, legs: LegHits, signals: QuerySignals) -> None:
        payload = {
            "text": text,
            "ranker": ranker,
            "legs": {leg: [[doc_id, score] for doc_id, score in hits] for leg, hits in legs.items()},
            "signals": {
                "text": signals.text,
                "photo": signals.photo,
                "intent": signals.intent,
                "foreign": signals.foreign,
            },
        }
        with redis_errors("logging the ranker's features"):
            self.redis.set(self._key(text), zlib.compress(json.dumps(payload).encode()), ex=self.ttl_s)

    def logged(self, texts: Collection[str]) -> dict[str, tuple[dict[str, list[tuple[str, float]]], QuerySignals]]:
        """The logged legs and signals of those ``texts`` still kept, by text as asked."""
        asked = sorted(set(texts))
        if not asked:
            return {}
        with redis_errors("reading the ranker's logged features"):
            found = self.redis.mget([self._key(t) for t in asked])
        out = {}
        for text, raw in zip(asked, found, strict=True):
            if raw is None:
                continue
            payload = json.loads(zlib.decompress(raw))
            legs = {leg: [(doc_id, float(score)) for doc_id, score in hits] for leg, hits in payload["legs"].items()}
            out[text] = (legs, QuerySignals(**payload["signals"]))
        return out

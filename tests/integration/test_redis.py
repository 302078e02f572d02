"""Redis: a round trip, and AOF persistence that keeps queued work across a restart."""

import redis

from hybrid_search.local.redis import LocalRedis
from tests.net import free_port


def test_round_trip(services):
    key = f"{services.settings.products_alias}:roundtrip"
    services.redis.set(key, "κ-NN ✓", ex=60)
    assert services.redis.get(key).decode() == "κ-NN ✓"
    services.redis.delete(key)


def test_aof_keeps_queued_work_across_a_restart(tmp_path):
    local = LocalRedis(tmp_path / "redis", free_port())
    local.start()
    try:
        conn = redis.Redis(port=local.port)
        assert conn.config_get("appendonly") == {"appendonly": "yes"}
        conn.rpush("queue", "task-1", "task-2")
        local.stop()  # SIGTERM: redis flushes the AOF on the way down
        local.start()
        assert redis.Redis(port=local.port).lrange("queue", 0, -1) == [b"task-1", b"task-2"]
    finally:
        local.stop()

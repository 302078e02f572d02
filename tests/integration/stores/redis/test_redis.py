"""Redis: a round trip, AOF persistence that keeps queued work across a restart, and one error for an outage."""

import pytest
import redis

from hybrid_search.core.errors import ServiceUnavailableError
from hybrid_search.local.redis import LocalRedis
from hybrid_search.stores.redis.client import connect, ping
from hybrid_search.stores.redis.query_log import QueryLog
from hybrid_search.stores.redis.query_photos import QueryPhotos
from hybrid_search.stores.redis.rate_limits import RateLimits
from hybrid_search.stores.redis.run_log import RunLog
from hybrid_search.stores.redis.scrolls import Scrolls
from hybrid_search.stores.redis.sessions import open_session
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.redis.users import UserProfiles
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


def test_a_training_runs_record_is_written_only_while_it_is_that_runs(services):
    """A worker's progress lands on its own run's record and never makes a record of its own (one
    with a heartbeat and no state made `hybrid-search status` fail with KeyError: 'state')."""
    state = TrainingState(services.redis, services.settings.products_alias)
    run_id = state.try_start("a test", 0, "tags")
    try:
        state.progress(run_id, 1, 3, "encoding")
        assert (state.run().message, state.run().state) == ("encoding", "running")
        state.progress("another-run", 2, 3, "not mine")
        assert state.run().message == "encoding"
        services.redis.delete(state._key("run"))  # the record goes while the run is still active
        state.progress(run_id, 2, 3, "late")
        assert state.run() is None
    finally:
        services.redis.delete(*(state._key(name) for name in ("run", "active", "lease", "changes")))


def test_a_redis_outage_is_one_error_for_every_store_but_the_rate_limits():
    """Every store but the rate limits (which fail open) answers an outage with ServiceUnavailableError."""
    down = connect("redis://127.0.0.1:9/0", timeout_s=1)
    calls = [
        lambda: TrainingState(down, "a").run(),
        lambda: TrainingState(down, "a").note_changes(1),
        lambda: UserProfiles(down, "a").get("t", "u"),
        lambda: QueryLog(down, "a", 60).texts(["q"]),
        lambda: Scrolls(down, "a").holds("s", "c"),
        lambda: QueryPhotos(down, "a").keep(b"photo"),
        lambda: RunLog(down, "a").recent(),
        lambda: open_session(down, "a", "key"),
    ]
    for call in calls:
        with pytest.raises(ServiceUnavailableError, match="Redis unavailable while"):
            call()
    assert RateLimits(down, "a").over("b", 0) == 0
    assert ping(down)[0] is False

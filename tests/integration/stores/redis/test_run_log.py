"""The run log against the real Redis."""

import pytest
import redis

from hybrid_search.core.errors import ServiceUnavailableError
from hybrid_search.stores.redis.run_log import RunLog


def test_runs_are_listed_newest_first_and_capped(services):
    log = RunLog(services.redis, services.settings.products_alias, keep=2)
    for i in range(3):
        log.record(f"task-{i}", "eval", {"qrels": f"q{i}.tsv"})
    recent = log.recent()
    assert [run["task_id"] for run in recent] == ["task-2", "task-1"]
    assert recent[0]["kind"] == "eval" and recent[0]["request"] == {"qrels": "q2.tsv"} and recent[0]["started"]
    assert log.find("task-1")["request"]["qrels"] == "q1.tsv" and log.find("task-0") is None
    services.redis.delete(log.key)


def test_redis_down_is_a_service_error():
    down = RunLog(redis.Redis(port=9, socket_connect_timeout=1), "x")
    with pytest.raises(ServiceUnavailableError):
        down.recent()

"""The evaluation and tuning runs started through the API or the console, newest first, so the
console can list them; Celery's result backend keeps each run's state, but cannot list runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import runs_key


class RunLog:
    """``<prefix>:runs``: a Redis list of ``{task_id, kind, started, request}``, capped at ``keep``."""

    def __init__(self, client: Redis, prefix: str, keep: int = 50) -> None:
        self.redis = client
        self.key = runs_key(prefix)
        self.keep = keep

    def record(self, task_id: str, kind: str, request: dict[str, Any]) -> None:
        entry = {"task_id": task_id, "kind": kind, "started": datetime.now(UTC).isoformat(), "request": request}
        with redis_errors("logging a run"):
            self.redis.pipeline().lpush(self.key, json.dumps(entry)).ltrim(self.key, 0, self.keep - 1).execute()

    def recent(self, count: int = 20) -> list[dict[str, Any]]:
        with redis_errors("listing runs"):
            return [json.loads(item) for item in self.redis.lrange(self.key, 0, count - 1)]

    def find(self, task_id: str) -> dict[str, Any] | None:
        """The logged start of ``task_id``, if it is among the kept runs."""
        return next((run for run in self.recent(self.keep) if run["task_id"] == task_id), None)

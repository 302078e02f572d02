"""The Redis record of an alias's training: what changed since its last run, the run itself (its
step, progress and results), and the lease of the worker running a step. What the steps are, and
their order, is the training run's (``training.py``); this keeps the record. Every Redis failure
comes out as ServiceUnavailableError, which the training run retries."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hybrid_search.stores.redis.client import Redis
from hybrid_search.stores.redis.errors import redis_errors
from hybrid_search.stores.redis.keys import training_key

RUNNING, DONE, FAILED = "running", "done", "failed"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TrainingRun:
    """One training run as its record holds it: its step, that step's progress, each finished step's
    result (``steps``: step -> what it returned, with its seconds), and how it ended."""

    id: str
    state: str  # RUNNING, DONE or FAILED
    reason: str
    started: float
    step: str  # the step running, or the one it stopped at
    step_started: float
    heartbeat: float
    events: int = 0  # the events counted when it started
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress_done: int = 0
    progress_total: int = 0
    message: str = ""
    finished: float | None = None
    error: str | None = None
    index: str | None = None  # the index the run builds, once its copy step made it

    @classmethod
    def from_record(cls, record: dict[str, str]) -> TrainingRun:
        """The run from its Redis hash (every value a string; an unset optional one is empty)."""

        def number(name: str, kind: type) -> Any:
            return kind(record[name]) if record.get(name) else None

        return cls(
            id=record["id"],
            state=record["state"],
            reason=record.get("reason", ""),
            started=float(record["started"]),
            step=record["step"],
            step_started=float(record["step_started"]),
            heartbeat=float(record.get("heartbeat") or record["started"]),
            events=number("events", int) or 0,
            steps=json.loads(record.get("steps") or "{}"),
            progress_done=number("progress_done", int) or 0,
            progress_total=number("progress_total", int) or 0,
            message=record.get("message", ""),
            finished=number("finished", float),
            error=record.get("error") or None,
            index=record.get("index") or None,
        )


def _translated(method: F) -> F:
    """``method`` with Redis failures as ServiceUnavailableError (``errors.redis_errors``)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with redis_errors(f"keeping the training record ({method.__name__})"):
            return method(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _every_method_translated(cls: type) -> type:
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _translated(member))
    return cls


# HSET the fields (ARGV[2:]) on the run record only while its id is ARGV[1]
UPDATE_IF_OURS = """
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  return 1
end
return 0
"""


@_every_method_translated
class TrainingState:
    """The Redis record of one alias's training: what changed since the last run, and the run itself."""

    def __init__(self, client: Redis, alias: str) -> None:
        self.redis = client
        self.alias = alias

    def _key(self, name: str) -> str:
        return training_key(self.alias, name)

    def note_changes(self, count: int, catalog_load: bool = False) -> None:
        """``count`` products were uploaded (a catalog load is due a run whatever the count)."""
        pipe = self.redis.pipeline()
        pipe.incrby(self._key("changes"), count)
        pipe.set(self._key("last-change"), time.time())
        if catalog_load:
            pipe.set(self._key("catalog-load"), 1)
        pipe.execute()

    def trigger(self) -> dict[str, Any]:
        changes, last, catalog_load, requested = self.redis.mget(
            [self._key(name) for name in ("changes", "last-change", "catalog-load", "requested")]
        )
        return {
            "changes": int(changes or 0),
            "last_change": float(last) if last else None,
            "catalog_load": bool(catalog_load),
            "requested": requested.decode() if requested else None,
        }

    def request(self, reason: str) -> None:
        """Ask for a run as soon as uploads are quiet and nothing is pending (a manual start)."""
        self.redis.set(self._key("requested"), reason)

    def try_start(self, reason: str, events: int, first_step: str) -> str | None:
        """Start a run at ``first_step`` unless one is running; its trigger is consumed (changes after
        this count for the next)."""
        run_id = uuid.uuid4().hex[:12]
        if not self.redis.set(self._key("active"), run_id, nx=True):
            return None
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.delete(self._key("run"), self._key("requested"), self._key("catalog-load"))
        pipe.set(self._key("changes"), 0)
        pipe.hset(
            self._key("run"),
            mapping={
                "id": run_id,
                "state": RUNNING,
                "reason": reason,
                "started": now,
                "step": first_step,
                "step_started": now,
                "heartbeat": now,
                "events": events,
                "steps": "{}",
            },
        )
        pipe.execute()
        return run_id

    def run(self) -> TrainingRun | None:
        """The current or last run (None before the first)."""
        raw = self.redis.hgetall(self._key("run"))
        if not raw:
            return None
        return TrainingRun.from_record({k.decode(): v.decode() for k, v in raw.items()})

    def active(self) -> str | None:
        value = self.redis.get(self._key("active"))
        return value.decode() if value else None

    def update(self, run_id: str, **fields: Any) -> None:
        """Set ``fields`` on the run record if it is still ``run_id``'s, in one atomic step: a worker
        that checked first and wrote after could leave a record of its fields alone (no id, no state)."""
        if self.active() == run_id:
            pairs = [item for k, v in fields.items() for item in (k, _redis_value(v))]
            self.redis.eval(UPDATE_IF_OURS, 1, self._key("run"), run_id, *pairs)

    def progress(self, run_id: str, done: int, total: int, message: str = "") -> None:
        self.update(run_id, progress_done=done, progress_total=total, message=message, heartbeat=time.time())

    def advance(self, run_id: str, step: str, result: dict[str, Any], following: str | None) -> str | None:
        """Record ``step`` as finished with ``result`` and go on to ``following`` (None: the run is
        done); returns ``following``, or None where ``step`` was not the active run's step."""
        run = self.run()
        if run is None or run.id != run_id or run.step != step:
            return None
        now = time.time()
        steps = {**run.steps, step: {**result, "seconds": round(now - run.step_started, 1)}}
        fields: dict[str, Any] = {"steps": steps, "progress_done": 0, "progress_total": 0, "message": ""}
        if following:
            fields |= {"step": following, "step_started": now, "heartbeat": now}
        self.update(run_id, **fields)
        if following is None:
            self.finish(run_id, DONE)
        return following

    def finish(self, run_id: str, state: str, error: str | None = None) -> None:
        if self.active() != run_id:
            return
        run = self.run()
        fields: dict[str, Any] = {"state": state, "finished": time.time()}
        if error:
            fields["error"] = error
        self.update(run_id, **fields)
        if state == DONE:
            steps = run.steps if run is not None else {}
            seconds = {name: step["seconds"] for name, step in steps.items() if "seconds" in step}
            self.redis.set(self._key("durations"), json.dumps(seconds))
        self.redis.delete(self._key("active"), self._key("lease"))

    def events_at_rebuild(self) -> int:
        """The events counted when behaviour vectors were last rebuilt by a run."""
        return int(self.redis.get(self._key("events-at-rebuild")) or 0)

    def rebuilt_behaviour(self, events: int) -> None:
        self.redis.set(self._key("events-at-rebuild"), events)

    def durations(self) -> dict[str, float]:
        """Seconds each step took in the last finished run (for estimates)."""
        raw = self.redis.get(self._key("durations"))
        return json.loads(raw) if raw else {}

    def take_lease(self, run_id: str, step: str, lease_s: float) -> str | None:
        """Hold the right to run ``step`` of the active run for ``lease_s`` (renewed by ``renew``)."""
        run = self.run()
        if self.active() != run_id or run is None or run.step != step:
            return None
        token = f"{run_id}:{step}:{uuid.uuid4().hex[:8]}"
        if not self.redis.set(self._key("lease"), token, nx=True, px=int(lease_s * 1000)):
            return None
        self.update(run_id, heartbeat=time.time())
        return token

    def renew(self, run_id: str, token: str, lease_s: float) -> None:
        if self.redis.get(self._key("lease")) == token.encode():
            self.redis.pexpire(self._key("lease"), int(lease_s * 1000))
            self.update(run_id, heartbeat=time.time())

    def release(self, token: str) -> None:
        if self.redis.get(self._key("lease")) == token.encode():
            self.redis.delete(self._key("lease"))


def _redis_value(value: Any) -> str | int | float:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value

"""Training follows data: after a catalog load or enough changed products, train what quality needs.

A training run for one alias goes through ``STEPS``:

- ``tags``: train the taggers (``models/encoders/tagger.py``) on the products that have attribute values,
  record them on the live index, and tag the products that lack a value (``tags.<attribute>``);
- ``attributes``: train the query-understanding heads on the live index, record them on it (queries
  use them within seconds, no re-embedding needed);
- ``behaviour``: rebuild behaviour vectors, when enough new events exist since the last run;
- ``fusion``: train the fusion on the live index's title/photo pairs;
- ``copy``: create the index of the new models (marked as being built, so uploads reach it too) and
  write the catalog into it re-fused with the new fusion from its stored text and photo vectors
  (products not ready are copied pending and queued);
- ``embed``: wait until none of its products is pending, then swap the alias;
- ``ranker``: train the learned ranker on the queries the live catalog yields (attribute values, its
  brands and names, retyped titles, phone snapshots of its photos) and record it on the live index;
- ``profile``: when enough searches were judged by shoppers' clicks, tune the default blend profile
  on them (condensed lists, shrunk towards the current one) and store it as its next version only
  where it beats the current one on held-out folds and is not below its own best single leg.

One run at a time per alias (a Redis key taken with NX). Its state lives in Redis; each step runs in
a Celery task that holds a lease, renewed by a heartbeat while it works. The workers' schedule
(``tick``) starts runs, drives ``embed``, and sends a step again when its worker stopped reporting
(it died): steps are idempotent, so a killed worker loses nothing but time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from hybrid_search.core.catalog import TAGGED
from hybrid_search.core.errors import BackendError, InvalidInputError, ServiceUnavailableError
from hybrid_search.core.settings import Settings
from hybrid_search.evaluation import jobs as evaluation_jobs
from hybrid_search.evaluation import learning
from hybrid_search.evaluation.jobs import ClickJudgments
from hybrid_search.evaluation.judgments import load_judgments, load_queries, query_products
from hybrid_search.indexing import reindex
from hybrid_search.indexing.ingest import Enqueue
from hybrid_search.models.encoders.device import every_core
from hybrid_search.models.encoders.tagger import load_taggers
from hybrid_search.models.encoders.text import load_text_encoder
from hybrid_search.models.live import live_models, record_artifacts
from hybrid_search.models.sets import artifact_name, artifact_version
from hybrid_search.querying.service import SearchService
from hybrid_search.stores.opensearch.client import OpenSearchClient
from hybrid_search.stores.opensearch.events import count_events
from hybrid_search.stores.opensearch.indices import activate_built, alias_targets, building_indices, drop_superseded
from hybrid_search.stores.opensearch.products import recently_ready, refresh, status_counts
from hybrid_search.stores.opensearch.profiles import save_version
from hybrid_search.stores.redis.training_state import FAILED, RUNNING, TrainingRun, TrainingState
from hybrid_search.stores.services import Services
from hybrid_search.training import trainers

T = TypeVar("T")
TRANSIENT = (ServiceUnavailableError, BackendError)  # retried, not failed (Redis's failures among the first)
PROFILE = "default"  # the profile /search uses unless told otherwise
STEPS = ("tags", "attributes", "behaviour", "fusion", "copy", "embed", "ranker", "profile")


def _following(step: str) -> str | None:
    """The step after ``step`` (None after the last)."""
    return STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else None


@dataclass(frozen=True)
class Context:
    """What a training step works with: the services, and how to queue embedding and the next step."""

    client: OpenSearchClient
    settings: Settings
    state: TrainingState
    enqueue: Enqueue
    send_step: Callable[[str, str], None]  # (run id, step)


def tick(ctx: Context) -> str:
    """The schedule's look at training: start a due run, finish ``embed``, resume a step whose worker
    stopped reporting. Returns what it did, for the log."""
    settings, state = ctx.settings, ctx.state
    run = state.run()
    now = time.time()
    if run is not None and run.state == RUNNING and state.active() == run.id:
        if run.step == "embed":
            return _embed_step(ctx, run)
        if now - run.heartbeat > settings.train_lease_s:
            state.update(run.id, heartbeat=now)
            ctx.send_step(run.id, run.step)
            return f"resumed {run.step}"
        return f"running {run.step}"
    trigger = state.trigger()
    reason = trigger["requested"]
    if reason is None and settings.train_automatically:
        if trigger["catalog_load"]:
            reason = "a catalog load"
        elif trigger["changes"] >= settings.train_after_changes:
            reason = f"{trigger['changes']} products changed"
    if reason is None:
        return "idle"
    if trigger["last_change"] and now - trigger["last_change"] < settings.train_quiet_s:
        return "waiting for uploads to stop"
    live = alias_targets(ctx.client, settings.products_alias)
    if not live:
        return "idle"
    refresh(ctx.client, live[0])  # an upload quieter than the refresh interval is not yet searchable
    if status_counts(ctx.client, live[0]).get("pending", 0) > 0:
        return "waiting for embedding"
    run_id = state.try_start(reason, _events(ctx), STEPS[0])
    if run_id is None:
        return "a run is active"
    ctx.send_step(run_id, STEPS[0])
    return f"started {run_id} ({reason})"


def run_step(ctx: Context, run_id: str, step: str) -> str:
    """Run ``step`` of run ``run_id`` once: skipped unless it is the run's current step and no other
    worker holds it. A service outage propagates (the task retries it), releasing the step; any other
    error (too few products, a bug) fails the run, which then waits for the next trigger."""
    state, lease_s = ctx.state, ctx.settings.train_lease_s
    token = state.take_lease(run_id, step, lease_s)
    if token is None:
        return "skipped"
    try:
        with _heartbeat(state, run_id, token, lease_s), every_core():
            result = STEP_FUNCTIONS[step](ctx, run_id)
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - anything else would fail again on every resume
        state.finish(run_id, FAILED, f"{step}: {exc}")
        return "failed"
    finally:
        state.release(token)
    following = state.advance(run_id, step, result, _following(step))
    if following and following != "embed":
        ctx.send_step(run_id, following)
    return "done"


@contextmanager
def _heartbeat(state: TrainingState, run_id: str, token: str, lease_s: float) -> Iterator[None]:
    """Renew the step's lease while it runs, from a thread: a long encoding reports nothing for minutes."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_s / 3):
            state.renew(run_id, token, lease_s)

    thread = threading.Thread(target=beat, name="training-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _tags_step(ctx: Context, run_id: str) -> dict[str, Any]:
    """Train the taggers on the products that have attribute values, record them with the live
    index, and tag the products that lack a value (``trainers.apply_tags``)."""
    index, models = live_models(ctx.client, ctx.settings)
    encoder = load_text_encoder(models.text_encoder, ctx.settings.device, batches=True)
    stage = itertools.count()

    def progress(message: str) -> None:  # the titles, a tagger per attribute, then the tagging
        ctx.state.progress(run_id, next(stage), 2 + len(TAGGED), message)

    try:
        path, metadata = trainers.train_tagger_from_index(ctx.client, ctx.settings, encoder, progress=progress)
    except InvalidInputError as exc:  # a catalog without attribute values: nothing to learn from
        return {"skipped": str(exc)}
    record_artifacts(ctx.client, ctx.settings, tagger=path)
    progress("tagging the products that lack a value")
    tagged = trainers.apply_tags(ctx.client, index, load_taggers(path), artifact_version(path.name))
    return {"artifact": artifact_name(path, ctx.settings), "tagged": tagged, "evaluation": metadata["evaluation"]}


def _attributes_step(ctx: Context, run_id: str) -> dict[str, Any]:
    _, models = live_models(ctx.client, ctx.settings)
    encoder = load_text_encoder(models.text_encoder, ctx.settings.device, batches=True)
    stage = itertools.count()

    def progress(message: str) -> None:  # three messages: titles, query-like strings, training
        ctx.state.progress(run_id, next(stage), 3, message)

    path, metadata = trainers.train_attributes_from_index(ctx.client, ctx.settings, encoder, progress=progress)
    record_artifacts(ctx.client, ctx.settings, attributes=path)
    return {"artifact": artifact_name(path, ctx.settings), "evaluation": metadata["evaluation"]}


def _behaviour_step(ctx: Context, run_id: str) -> dict[str, Any]:
    threshold = ctx.settings.train_behaviour_after_events
    run = ctx.state.run()
    events = run.events if run is not None else 0
    new_events = events - ctx.state.events_at_rebuild()
    if not threshold or new_events < threshold:
        return {"skipped": f"{new_events} new events (rebuilt from {threshold})"}
    counts = trainers.rebuild_behaviour_vectors(ctx.client, ctx.settings, ctx.enqueue)
    ctx.state.rebuilt_behaviour(events)
    return counts


def _fusion_step(ctx: Context, run_id: str) -> dict[str, Any]:
    settings = ctx.settings
    leave_out = (
        query_products(load_queries(settings.train_leave_out_queries)) if settings.train_leave_out_queries else set()
    )
    epochs = settings.train_fusion_epochs

    def on_epoch(epoch: int, loss: float) -> None:
        ctx.state.progress(run_id, epoch + 1, epochs, f"loss {loss:.3f}")

    path, metadata = trainers.train_fusion_from_index(
        ctx.client, settings, epochs=epochs, on_epoch=on_epoch, leave_out=leave_out
    )
    return {"artifact": artifact_name(path, settings), "evaluation": metadata["evaluation"]}


def _copy_step(ctx: Context, run_id: str) -> dict[str, Any]:
    run = ctx.state.run()
    if run is None:
        raise ServiceUnavailableError("the training run's record is gone")
    live_index, live = live_models(ctx.client, ctx.settings)
    trained = replace(
        live,
        fusion=run.steps["fusion"]["artifact"],
        attributes=run.steps["attributes"]["artifact"],
    )
    if trained.version == live.version:
        return {"index": live_index, "queued": 0, "unchanged": True}  # the same fusion, to the bit

    def progress(done: int, total: int) -> None:
        ctx.state.progress(run_id, done, total, "re-fusing the catalog")

    queued = reindex.build_index(ctx.client, ctx.settings, trained, live, ctx.enqueue, progress)
    (index,) = building_indices(ctx.client, ctx.settings.products_alias)
    ctx.state.update(run_id, index=index)
    return {"index": index, "queued": queued}


def _embed_step(ctx: Context, run: TrainingRun) -> str:
    """Driven by ``tick``: record the new index's progress, and swap the alias once nothing is pending."""
    copied = run.steps.get("copy", {})
    index = copied.get("index")
    if copied.get("unchanged") or not index:
        _advance_from_embed(ctx, run.id, {"index": index, "swapped": False})
        return "the models did not change"
    refresh(ctx.client, index)
    counts = status_counts(ctx.client, index)
    total = sum(counts.values())
    ctx.state.progress(run.id, counts.get("ready", 0) + counts.get("failed", 0), total)
    if counts.get("pending", 0) > 0:
        return f"embedding {counts.get('pending', 0)} pending in {index}"
    alias = ctx.settings.products_alias
    activate_built(ctx.client, alias, index)
    dropped = drop_superseded(ctx.client, alias, ctx.settings.keep_superseded_indices)
    result = {"index": index, "swapped": True, "failed": counts.get("failed", 0), "dropped": dropped}
    _advance_from_embed(ctx, run.id, result)
    return f"{ctx.settings.products_alias} -> {index}"


def _advance_from_embed(ctx: Context, run_id: str, result: dict[str, Any]) -> None:
    if following := ctx.state.advance(run_id, "embed", result, _following("embed")):
        ctx.send_step(run_id, following)


def _ranker_step(ctx: Context, run_id: str) -> dict[str, Any]:
    """The learned ranker, trained on the queries the (new) live catalog yields and, once shoppers'
    clicks judge ``train_profile_after_queries`` queries, on those too where they help (held out)."""
    service = SearchService.from_services(Services(ctx.settings, ctx.client, ctx.state.redis))
    base = service.profiles.get(PROFILE).profile

    def progress(items: Iterable[T], desc: str, total: int) -> Iterable[T]:
        for done, item in enumerate(items):
            if done % 50 == 0:
                ctx.state.progress(run_id, done, total, desc)
            yield item

    clicks: list[learning.Group] = []
    found = _click_judgments(ctx, run_id, "ranker")
    if not isinstance(found, str):
        queries, qrels = load_judgments(None, found[1])
        clicks, _ = learning.click_groups(service, queries, qrels, found[1].parent, base, progress, service.feature_log)
    try:
        ranker = learning.train_from_catalog(service, base, progress=progress, clicks=clicks)
    except InvalidInputError as exc:  # too small a catalog: searches keep the profile's fixed weights
        return {"skipped": str(exc)}
    return learning.save_and_record(service, ranker) | ({"clicks": found} if isinstance(found, str) else {})


def _click_judgments(ctx: Context, run_id: str, step: str) -> tuple[ClickJudgments, Path] | str:
    """The click model's judgments of the logged searches (what ``judgments from-events`` writes) and
    where they are, once they judge ``train_profile_after_queries`` queries; else why not."""
    settings = ctx.settings
    threshold = settings.train_profile_after_queries
    if not threshold:
        return "off"
    path = settings.judgments_root / "clicks" / f"training-{run_id}-{step}.json"
    try:
        judged = evaluation_jobs.judgments_from_events(ctx.client, settings, path)
    except InvalidInputError:
        return "no logged searches with impressions"
    if judged.queries < threshold:
        return f"{judged.queries} queries judged by clicks (tuned from {threshold})"
    return judged, path


def _profile_step(ctx: Context, run_id: str) -> dict[str, Any]:
    settings = ctx.settings
    found = _click_judgments(ctx, run_id, "profile")
    if isinstance(found, str):
        return {"skipped": found}
    judged, path = found
    service = SearchService.from_services(Services(settings, ctx.client, ctx.state.redis))
    base = service.profiles.get(PROFILE)
    stage = itertools.count()

    def progress(items: Iterable[T], desc: str, total: int) -> Iterable[T]:
        ctx.state.progress(run_id, next(stage), 4, desc)  # retrieve, tune, cross-validate, leave out
        return items

    result = evaluation_jobs.tune(
        service, None, path, base, settings.reports_dir / f"training-{run_id}", judged_only=True, progress=progress
    )
    cv, tuned, best_leg = result.cross_validation, result.ndcg("tuned"), result.best_leg()
    out = {
        "judged_queries": judged.queries,
        "base": f"{base.name}@{base.version}",
        "cv_test": cv.mean_test,
        "cv_base_test": cv.mean_base_test,
        "tuned": tuned,
        "best_leg": best_leg,
        "report": result.reports["md"],
    }
    if cv.mean_test is None or cv.mean_base_test is None or cv.mean_test <= cv.mean_base_test or tuned < best_leg:
        return out | {"saved": None}
    note = f"tuned on {judged.queries} click-judged queries by training run {run_id}: {out}"
    stored = save_version(ctx.client, settings.profiles_index, PROFILE, result.tuned_profile, note)
    return out | {"saved": f"{stored.name}@{stored.version}"}


STEP_FUNCTIONS: dict[str, Callable[[Context, str], dict[str, Any]]] = {
    "tags": _tags_step,
    "attributes": _attributes_step,
    "behaviour": _behaviour_step,
    "fusion": _fusion_step,
    "copy": _copy_step,
    "ranker": _ranker_step,
    "profile": _profile_step,
}


def _events(ctx: Context) -> int:
    return count_events(ctx.client, ctx.settings.events_alias)


def eta(run: TrainingRun, durations: dict[str, float], now: float) -> dict[str, Any]:
    """Progress of a run as /jobs shows it: per step its state, seconds and estimate, and the run's
    estimated seconds left (the current step from its own progress, later steps from the last run).
    A run that stopped before its end shows the step it stopped at in the run's state (failed) and
    the steps after it as not run."""
    steps = []
    left: float | None = 0.0
    current = STEPS.index(run.step) if run.state == RUNNING else len(STEPS)
    for i, name in enumerate(STEPS):
        entry: dict[str, Any] = {"step": name}
        if name in run.steps:
            entry |= {"state": "done", **run.steps[name]}
        elif run.state != RUNNING:
            entry["state"] = run.state if name == run.step else "not run"
        elif i == current:
            elapsed = now - run.step_started
            done, total = run.progress_done, run.progress_total
            estimate = elapsed * (total - done) / done if done and total else durations.get(name)
            entry |= {"state": "running", "seconds": round(elapsed, 1), "done": done, "total": total}
            entry |= {"message": run.message, "eta_s": None if estimate is None else round(estimate, 1)}
            left = None if estimate is None or left is None else left + estimate
        elif i > current:
            entry["state"] = "waiting"
            left = None if left is None or name not in durations else left + durations[name]
        steps.append(entry)
    fields = ("id", "state", "reason", "step", "started", "finished", "error", "index")
    out = {name: getattr(run, name) for name in fields if getattr(run, name) is not None}
    return out | {"steps": steps, "eta_s": round(left, 1) if left is not None and current < len(STEPS) else None}


def jobs_view(client: OpenSearchClient, state: TrainingState, settings: Settings) -> dict[str, Any]:
    """What ``GET /jobs`` and ``hybrid-search status`` show: each products index's embedding progress
    with a rate and an estimate, what will trigger the next training run, and the current or last run."""
    alias = settings.products_alias
    indices = [(index, "live") for index in alias_targets(client, alias)]
    indices += [(index, "building") for index in building_indices(client, alias)]
    products = []
    for index, role in indices:
        counts = status_counts(client, index)
        per_minute = recently_ready(client, index, 60)
        pending = counts.get("pending", 0)
        products.append(
            {
                "index": index,
                "role": role,
                "counts": counts,
                "ready_last_minute": per_minute,
                "eta_s": round(pending / per_minute * 60, 1)
                if pending and per_minute
                else (0 if not pending else None),
            }
        )
    run = state.run()
    trigger = state.trigger()
    return {
        "products": products,
        "training": eta(run, state.durations(), time.time()) if run else None,
        "next_training": {
            **trigger,
            "automatic": settings.train_automatically,
            "threshold": settings.train_after_changes,
            "quiet_s": settings.train_quiet_s,
        },
    }

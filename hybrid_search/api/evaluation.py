"""/eval and /tune for search engineers (admin key): evaluation and tuning runs as Celery tasks;
/judgments/from-events turns logged impressions and clicks into a judgment list for them.

Judgment files are read by path under ``Settings.judgments_root`` (shared with the workers), so a
photo query's image path resolves beside its queries file, as in the shared data format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from flask import Blueprint, Response, current_app, jsonify, url_for
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hybrid_search.api.auth import require_admin
from hybrid_search.api.bodies import json_object
from hybrid_search.core.catalog import PROFILE_NAME_PATTERN, PROFILE_REFERENCE_PATTERN, Whole, parse_model
from hybrid_search.core.errors import InvalidInputError
from hybrid_search.evaluation import jobs
from hybrid_search.queue import EVALUATE, TUNE
from hybrid_search.stores.redis.run_log import RunLog

evaluation = Blueprint("evaluation", __name__)
ProfileName = Annotated[str, StringConstraints(pattern=rf"^{PROFILE_NAME_PATTERN}$")]
ProfileReference = Annotated[str, StringConstraints(pattern=PROFILE_REFERENCE_PATTERN)]
# a relative path of printable characters, no NUL, short enough for any file system
JudgmentPath = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,255}$")]


class Judgments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queries: JudgmentPath | None = Field(None, description="queries JSONL, relative to the judgments folder")
    qrels: JudgmentPath = Field(
        description="TREC qrels or a Search Relevance judgment list (.json), relative to the folder"
    )


class EvalRequest(Judgments):
    profiles: list[ProfileReference] = Field(default_factory=lambda: ["default"], min_length=1, max_length=10)
    legs: bool = False
    name: str = Field("eval", pattern=r"^[A-Za-z0-9_-]{1,64}$")


class TuneRequest(Judgments):
    profile: ProfileName = "default"
    folds: int = Field(5, ge=1, le=20)
    rounds: int = Field(3, ge=1, le=10)
    intents: bool = False  # also leave-one-intent-out cross-validation
    judged_only: bool = False  # condensed lists: for click judgments, which judge only what was shown
    prior_queries: float | None = Field(None, ge=0, le=100_000)  # shrinkage; None: tuning.PRIOR_QUERIES
    save: bool = False


def _judgment_files(root: Path, req: Judgments) -> list[str | None]:
    """Absolute paths of the request's queries (if any) and qrels, which must be files inside ``root``."""
    paths: list[str | None] = []
    for field, relative in (("queries", req.queries), ("qrels", req.qrels)):
        if relative is None:
            paths.append(None)
            continue
        path = (root / relative).resolve()
        if not path.is_relative_to(root.resolve()):
            raise InvalidInputError(field, "must stay inside the judgments folder")
        if not path.is_file():
            raise InvalidInputError(field, f"no file {relative!r} in the judgments folder")
        paths.append(str(path))
    return paths


@evaluation.post("/eval")
def start_eval() -> tuple[Response, int]:
    require_admin("evaluation runs")
    return _started("eval", json_object())


@evaluation.post("/tune")
def start_tune() -> tuple[Response, int]:
    require_admin("evaluation runs")
    return _started("tune", json_object())


def start_run(kind: str, body: dict[str, Any]) -> str:
    """Check an ``eval`` or ``tune`` request, queue its Celery task, log the run; the task id.
    The caller has checked the admin key."""
    settings = current_app.extensions["hybrid_search"].settings
    req: Judgments
    if kind == "eval":
        req = evaluate = parse_model(EvalRequest, body)
        args = [*_judgment_files(settings.judgments_root, req), evaluate.profiles, evaluate.legs, evaluate.name]
    else:
        req = tune = parse_model(TuneRequest, body)
        args = [
            *_judgment_files(settings.judgments_root, req),
            tune.profile,
            tune.folds,
            tune.rounds,
            tune.save,
            tune.intents,
            tune.judged_only,
            tune.prior_queries,
        ]
    result = current_app.extensions["hybrid_search.queue"].send_task(EVALUATE if kind == "eval" else TUNE, args=args)
    run_log().record(result.id, kind, req.model_dump(mode="json"))
    return result.id


def run_log() -> RunLog:
    services = current_app.extensions["hybrid_search"]
    return RunLog(services.redis, services.settings.products_alias)


class ClickJudgmentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("clicks", pattern=r"^[A-Za-z0-9_-]{1,64}$")  # written as <judgments folder>/<name>.json
    min_impressions: Whole = Field(1, ge=1, le=10_000)


@evaluation.post("/judgments/from-events")
def judgments_from_events() -> tuple[Response, int]:
    """Implicit judgments (COEC click model) from the events index, written into the judgments
    folder for /eval and /tune (``qrels: <name>.json``); answers with counts and position CTRs."""
    settings = require_admin("judgment lists")
    req = parse_model(ClickJudgmentsRequest, json_object(default={}))
    services = current_app.extensions["hybrid_search"]
    path = settings.judgments_root / f"{req.name}.json"
    result = jobs.judgments_from_events(services.opensearch, settings, path, req.min_impressions)
    return jsonify(result.to_json() | {"qrels": path.name}), 201


def _started(kind: str, body: dict[str, Any]) -> tuple[Response, int]:
    task_id = start_run(kind, body)
    status = url_for("evaluation.eval_status" if kind == "eval" else "evaluation.tune_status", task_id=task_id)
    return jsonify({"task_id": task_id, "status": status}), 202


@evaluation.get("/eval/<task_id>")
def eval_status(task_id: str) -> Response:
    return _status(task_id)


@evaluation.get("/tune/<task_id>")
def tune_status(task_id: str) -> Response:
    return _status(task_id)


def _status(task_id: str) -> Response:
    require_admin("evaluation runs")
    return jsonify(run_status(task_id))


def run_status(task_id: str) -> dict[str, Any]:
    """PENDING (queued, or an id Celery does not know), PROGRESS with the step, SUCCESS with the
    result (summary, comparisons, report paths), or FAILURE with the error."""
    result = current_app.extensions["hybrid_search.queue"].AsyncResult(task_id)
    body: dict[str, Any] = {"task_id": task_id, "state": result.state}
    if result.state == "PROGRESS":
        body["progress"] = result.info
    elif result.state == "SUCCESS":
        body["result"] = result.result
    elif result.state == "FAILURE":
        body["error"] = str(result.info)
    return body

"""The search engineers' pages (admin key): profiles and their versions (diff, save, activate, roll
back), evaluation and tuning runs with their progress, tables and plots, two profiles side by side
on one query, and jobs and health."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, redirect, render_template, request, send_from_directory, url_for

from hybrid_search.api.auth import require_admin
from hybrid_search.api.console import console
from hybrid_search.api.console.keys import page
from hybrid_search.api.console.search import moves
from hybrid_search.api.evaluation import run_log, run_status, start_run
from hybrid_search.api.health import health_checks
from hybrid_search.api.search import search_for_caller
from hybrid_search.core.catalog import PROFILE_NAME_PATTERN, parse_model
from hybrid_search.core.errors import HybridSearchError, InvalidInputError, NotFoundError
from hybrid_search.ranking.profiles import BlendProfile, StoredProfile, differences
from hybrid_search.stores.opensearch import profiles as store
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.services import Services
from hybrid_search.training.runner import jobs_view

QRELS_SUFFIXES = (".tsv", ".txt", ".qrels", ".json")
COMPARE_SIZE = 20
PLOT = re.compile(r"^[A-Za-z0-9_-]{1,64}(-sweeps)?\.png$")


def _admin() -> Services:
    require_admin("the search engineers' pages")
    services: Services = current_app.extensions["hybrid_search"]
    return services


def judgment_files(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The queries files (JSONL) in the judgments folder and one level down, and its judgment lists,
    each with the queries file it names by convention (``qrels-x.tsv`` judges ``queries-x.jsonl``;
    ``qrels.tsv``, ``queries.jsonl``), or "" (a judgment list of its own queries)."""
    if not root.is_dir():
        return [], []
    found = sorted(str(p.relative_to(root)) for pattern in ("*", "*/*") for p in root.glob(pattern) if p.is_file())
    queries = [f for f in found if f.endswith(".jsonl")]
    lists = []
    for name in (f for f in found if f.endswith(QRELS_SUFFIXES)):
        folder, _, file = name.rpartition("/")
        paired = (f"{folder}/" if folder else "") + file.replace("qrels", "queries").rsplit(".", 1)[0] + ".jsonl"
        lists.append((name, paired if paired in queries else ""))
    return queries, lists


def references(services: Services, profiles: list[dict[str, Any]]) -> list[str]:
    """Every one of ``profiles`` as a search names it: the name (its active version), then each ``name@version``."""
    index = services.settings.profiles_index
    out = []
    for entry in profiles:
        out.append(entry["name"])
        out += [
            f"{v.name}@{v.version}" for v in reversed(store.list_versions(services.opensearch, index, entry["name"]))
        ]
    return out


@console.get("/engineers")
def engineers_page() -> str:
    services = _admin()
    settings = services.settings
    queries, qrels = judgment_files(settings.judgments_root)
    healthy, checks = health_checks()
    profiles = store.list_profiles(services.opensearch, settings.profiles_index)
    return render_template(
        "console/engineers.html",
        profiles=profiles,
        references=references(services, profiles),
        queries_files=queries,
        qrels_files=qrels,
        runs=run_log().recent(),
        healthy=healthy,
        checks=checks,
        jobs=jobs_view(services.opensearch, TrainingState(services.redis, settings.products_alias), settings),
    )


@console.get("/engineers/profiles/<name>")
def profile_page(name: str) -> str:
    """A profile's versions, the active one marked; the diff of two (``?a=&b=``); a form to save the next."""
    return _profile_page(name, _admin())[0]


def _profile_page(
    name: str, services: Services, draft: str | None = None, error: HybridSearchError | None = None
) -> tuple[str, int]:
    versions = store.list_versions(services.opensearch, services.settings.profiles_index, name)
    active = store.get_active(services.opensearch, services.settings.profiles_index, name)
    by_number = {v.version: v for v in versions}
    a, b = (_version_arg(field, by_number) for field in ("a", "b"))
    if a is None and b is None and len(versions) > 1:  # the active version and its nearest neighbour
        before = [v for v in versions if v.version < active.version]
        after = [v for v in versions if v.version > active.version]
        a, b = (before[-1], active) if before else (active, after[0])
    return page(
        "console/profile.html",
        error,
        name=name,
        versions=versions,
        active=active,
        a=a,
        b=b,
        diff=differences(a.profile, b.profile) if a and b else None,
        draft=draft or json.dumps(active.profile.model_dump(mode="json"), indent=2),
        notice=request.args.get("notice"),
    )


def _version_arg(field: str, by_number: dict[int, StoredProfile]) -> StoredProfile | None:
    raw = request.args.get(field)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in by_number:
        raise InvalidInputError(field, f"no version {raw!r}; pick one of {sorted(by_number)}")
    return by_number[int(raw)]


@console.post("/engineers/profiles")
def save_profile() -> Response | tuple[str, int]:
    """Store the edited JSON as the next version of the named profile (a new name starts one) and
    make it active, as PUT /profiles/<name> does; a refused draft comes back with the error."""
    services = _admin()
    form = request.form
    name, draft = form.get("name", "").strip(), form.get("profile", "")
    try:
        if not re.fullmatch(PROFILE_NAME_PATTERN, name):
            raise InvalidInputError("name", "lowercase letters, digits, '_' or '-', at most 64")
        try:
            body = json.loads(draft)
        except json.JSONDecodeError as exc:
            raise InvalidInputError("profile", f"not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidInputError("profile", "must be a JSON object")
        profile = parse_model(BlendProfile, body, "profile.")
    except InvalidInputError as exc:
        return _profile_page(form.get("from", "default"), services, draft, exc)
    stored = store.save_version(
        services.opensearch, services.settings.profiles_index, name, profile, form.get("note", "")[:1000]
    )
    return redirect(url_for("console.profile_page", name=name, notice=f"saved {name}@{stored.version}, now active"))


@console.post("/engineers/profiles/<name>/activate")
def activate_profile(name: str) -> Response:
    """Make a stored version active again: a rollback, or a roll forward."""
    services = _admin()
    raw = request.form.get("version", "")
    if not raw.isdigit():
        raise InvalidInputError("version", "must be a stored version number")
    stored = store.activate(services.opensearch, services.settings.profiles_index, name, int(raw))
    return redirect(url_for("console.profile_page", name=name, notice=f"{name}@{stored.version} is active"))


@console.post("/engineers/runs")
def start_run_page() -> Response:
    """Start an evaluation or a tuning run from the page's form, then watch it."""
    _admin()
    form = request.form
    kind = form.get("kind")
    if kind not in ("eval", "tune"):
        raise InvalidInputError("kind", "must be eval or tune")
    body: dict[str, Any] = {"qrels": form.get("qrels", ""), "queries": form.get("queries") or None}
    if kind == "eval":
        body |= {"profiles": form.getlist("profiles") or ["default"], "legs": "legs" in form}
    else:
        body |= {"profile": form.get("profile", "default"), "folds": form.get("folds"), "rounds": form.get("rounds")}
        body |= {flag: flag in form for flag in ("intents", "judged_only", "save")}
    return redirect(url_for("console.run_page", task_id=start_run(kind, body)))


def _task_id(task_id: str) -> str:
    try:
        return str(uuid.UUID(task_id))
    except ValueError:
        raise NotFoundError(f"no run {task_id!r}") from None


@console.get("/engineers/runs/<task_id>")
def run_page(task_id: str) -> str:
    """A run's progress (the page follows it live), then its per-kind table, paired comparisons and plots."""
    _admin()
    task_id = _task_id(task_id)
    status, run = run_status(task_id), run_log().find(task_id)
    if run is None and status["state"] == "PENDING":  # Celery answers PENDING for any id it does not know
        raise NotFoundError(f"no run {task_id!r} was started here")
    result = status.get("result") or {}
    plots = [Path(path).name for key, path in result.get("reports", {}).items() if key in ("png", "sweeps")]
    return render_template("console/run.html", status=status, run=run, result=result, plots=plots, kinds=_kinds(result))


def _kinds(result: dict[str, Any]) -> list[str]:
    """The query kinds of a run's summary, in first-seen order, ``all`` last."""
    kinds = list(dict.fromkeys(k for summary in result.get("summary", {}).values() for k in summary if k != "all"))
    return [*kinds, "all"] if kinds else []


@console.get("/engineers/runs/<task_id>/status")
def run_status_json(task_id: str) -> Response:
    _admin()
    return jsonify(run_status(_task_id(task_id)))


@console.get("/engineers/runs/<task_id>/<plot>")
def run_plot(task_id: str, plot: str) -> Response:
    """A plot the run wrote into the reports folder (shared by the API and the workers)."""
    services = _admin()
    if not PLOT.fullmatch(plot):
        raise NotFoundError(f"no plot {plot!r}")
    return send_from_directory(services.settings.reports_dir / _task_id(task_id), plot)


@console.get("/engineers/compare")
def compare_page() -> tuple[str, int]:
    """Two profiles on one query, side by side: each of B's results marked with how it moved from A's."""
    services = _admin()
    asked = {field: request.args.get(field, "").strip() for field in ("q", "a", "b")}
    columns, error = None, None
    if asked["q"]:
        try:
            columns = {side: _compared(asked["q"], asked[side] or "default", side) for side in ("a", "b")}
        except HybridSearchError as exc:
            error = exc
    if columns:
        a_ids, b_ids = ([h["id"] for h in columns[side]["hits"]] for side in ("a", "b"))
        for hit, moved in zip(columns["b"]["hits"], moves(a_ids, b_ids), strict=True):
            hit["moved"] = moved
        for hit in columns["a"]["hits"]:
            hit["dropped"] = hit["id"] not in b_ids
    return page(
        "console/compare.html",
        error,
        asked=asked,
        columns=columns,
        references=references(services, store.list_profiles(services.opensearch, services.settings.profiles_index)),
        size=COMPARE_SIZE,
    )


def _compared(q: str, profile: str, side: str) -> dict[str, Any]:
    """One side's page; an error names the side's field (``a.profile``)."""
    return search_for_caller({"q": q, "profile": profile, "size": COMPARE_SIZE}, None, f"{side}.").to_json()

"""/jobs for operators (admin key): embedding progress per products index, and training runs."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from hybrid_search.api.auth import require_admin
from hybrid_search.stores.redis.training_state import TrainingState
from hybrid_search.stores.services import Services
from hybrid_search.training.runner import jobs_view

jobs = Blueprint("jobs", __name__)


def _state() -> tuple[Services, TrainingState]:
    services: Services = current_app.extensions["hybrid_search"]
    return services, TrainingState(services.redis, services.settings.products_alias)


@jobs.get("/jobs")
def get_jobs() -> Response:
    """Ready / pending / failed products with the embedding rate and an estimate, per products index
    (live, and the one being built); the current or last training run, step by step, with estimates;
    and what starts the next run."""
    require_admin("sees jobs")
    services, state = _state()
    return jsonify(jobs_view(services.opensearch, state, services.settings))


@jobs.post("/jobs/training")
def start_training() -> tuple[Response, int]:
    """Ask for a training run now: it starts once uploads are quiet and nothing is pending."""
    require_admin("starts training")
    services, state = _state()
    state.request("asked for by an admin")
    return jsonify(jobs_view(services.opensearch, state, services.settings)), 202

"""The Flask query layer: ``create_app(settings=None, services=None)``."""

from __future__ import annotations

from flask import Flask

from hybrid_search.api.errors import register_error_handlers
from hybrid_search.api.health import health
from hybrid_search.services import Services
from hybrid_search.settings import Settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the app; settings come from the environment unless given, clients from settings."""
    if services is None:
        services = Services.from_settings(settings or Settings())
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["hybrid_search"] = services
    register_error_handlers(app)
    app.register_blueprint(health)
    return app

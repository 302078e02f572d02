"""The Flask query layer: ``create_app(settings=None, services=None)``."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hybrid_search.api.bodies import limit_body_sizes
from hybrid_search.api.console import console
from hybrid_search.api.errors import register_error_handlers
from hybrid_search.api.evaluation import evaluation
from hybrid_search.api.events import events
from hybrid_search.api.health import health
from hybrid_search.api.jobs import jobs
from hybrid_search.api.opensearch_rest import register as register_opensearch_rest
from hybrid_search.api.photos import photos
from hybrid_search.api.products import ProductIdConverter, products
from hybrid_search.api.profiles import profiles
from hybrid_search.api.quotas import limit_call_rates
from hybrid_search.api.schema import schema
from hybrid_search.api.search import search
from hybrid_search.api.users import users
from hybrid_search.core.settings import Settings
from hybrid_search.querying.service import SearchService
from hybrid_search.queue import make_celery
from hybrid_search.stores.services import Services


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the app; settings come from the environment unless given, clients from settings."""
    if services is None:
        services = Services.from_settings(settings or Settings())
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["hybrid_search"] = services
    app.extensions["hybrid_search.queue"] = make_celery(services.settings)
    app.extensions["hybrid_search.search_factory"] = lambda: SearchService.from_services(services)
    app.url_map.converters["product_id"] = ProductIdConverter
    register_error_handlers(app)
    limit_body_sizes(app)
    limit_call_rates(app)
    if services.settings.proxy_hops:  # the caller's address, as the nearest proxies saw it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=services.settings.proxy_hops)  # type: ignore[method-assign]
    register_opensearch_rest(app, services.settings.products_alias)  # ahead of the merchant routes
    for blueprint in (health, products, search, events, users, profiles, schema, evaluation, jobs, photos, console):
        app.register_blueprint(blueprint)
    return app

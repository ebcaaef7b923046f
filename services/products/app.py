"""The products service application: ``gunicorn -c gunicorn.conf.py 'services.products.app:create_app()'``.

Configuration is :class:`services.common.settings.Settings` (``DATABASE_URL``, ...) plus these ``config``
keys, for tests:

``seed_catalog``     insert the demo catalog when the database has never had a product (default True).
``tracer_provider``  ``registry``  ``log_stream``   passed to :func:`telemetry.instrument`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from prometheus_client import Counter

from services.common.db import Database
from services.common.settings import Settings
from services.common.web import attach_database, service_app

from . import api
from .catalog import DEMO_CATALOG
from .domain import OUTCOMES, ProductsService
from .store import SqlRepository

SERVICE = "products"


@dataclass(frozen=True)
class Products:
    """What :func:`create_app` wired, at ``app.extensions["products"]``."""

    settings: Settings
    db: Database
    repository: SqlRepository
    service: ProductsService
    reservations_total: Counter


def create_app(config: dict | None = None) -> Flask:
    settings = Settings.from_env(SERVICE).with_overrides(config)
    app, tel = service_app(__name__, settings)

    reservations_total = Counter(
        "tienda_stock_reservations",
        "Stock reservations by outcome: held, insufficient_stock, committed, released, returned.",
        ("outcome",),
        registry=tel.metrics.registry,
    )
    for outcome in OUTCOMES:
        reservations_total.labels(outcome)

    db = attach_database(app, tel, settings, Path(__file__).parent / "migrations")

    repository = SqlRepository(db)
    service = ProductsService(repository, on_outcome=lambda outcome: reservations_total.labels(outcome).inc())
    if settings.extra.get("seed_catalog", True):
        service.seed_catalog(DEMO_CATALOG)

    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    app.extensions[SERVICE] = Products(settings, db, repository, service, reservations_total)
    return app

"""The payments service (port 8003): ``create_app()`` wires settings, telemetry, database and routes.

    gunicorn -c gunicorn.conf.py -b 127.0.0.1:8003 'services.payments.app:create_app()'

``config`` overrides settings by name (``{"database_url": ...}``); one extra key is understood:
``payment_provider``, a :class:`~services.payments.domain.PaymentProvider` used instead of the simulated
test-card provider (tests count or hold authorizations with it). Nothing connects at import time.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import telemetry
from services.common.settings import Settings
from services.common.web import attach_database, service_app

from . import api
from .domain import PaymentProvider, Payments, SimulatedProvider
from .events import TelemetryEvents
from .store import SqlPaymentRepository

SERVICE = "payments"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    settings = Settings.from_env(SERVICE).with_overrides(config)
    provider = settings.extra.get("payment_provider") or SimulatedProvider()
    if not isinstance(provider, PaymentProvider):
        raise telemetry.ConfigError("payment_provider must be a services.payments.domain.PaymentProvider")

    app, tel = service_app(__name__, settings)
    db = attach_database(app, tel, settings, MIGRATIONS)

    app.extensions["payments"] = Payments(SqlPaymentRepository(db), provider, TelemetryEvents(tel.metrics.registry))
    app.register_blueprint(api.bp)
    api.openapi().install(app)
    return app

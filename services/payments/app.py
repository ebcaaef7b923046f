"""The payments service (port 8003): ``create_app()`` wires settings, telemetry, database and routes.

    gunicorn -c gunicorn.conf.py -b 127.0.0.1:8003 'services.payments.app:create_app()'

Configuration is :class:`~services.payments.settings.PaymentSettings` with ``config`` laid over it; every key of
``config`` must be one of its fields (``database_url``, ``payment_provider``, ``tracer_provider``, ...). What was
wired is a :class:`services.common.web.Wiring` at ``app.extensions["tienda"]``; the reconciler of payments left
``processing``, when it runs, is its ``loops[0]``. Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from services.common import access
from services.common.auth import InternalTokens
from services.common.periodic import start_every
from services.common.relay import start_relay
from services.common.web import Wiring, attach_database, service_app, wire

from . import api
from .domain import PaymentService
from .metrics import PaymentMetrics
from .provider import SimulatedProvider, SqlLedger
from .settings import PaymentSettings
from .store import SqlPaymentRepository

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, PaymentSettings, config)
    metrics = PaymentMetrics(tel.metrics.registry)
    db = attach_database(app, tel, settings, MIGRATIONS)

    provider = settings.payment_provider or SimulatedProvider(SqlLedger(db))
    repository = SqlPaymentRepository(db)
    service = PaymentService(repository, provider, metrics)
    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    after = settings.reconcile_after_seconds
    loops = start_every("payments-reconciler", lambda: service.reconcile(after), settings.reconcile_interval_seconds)
    loops += start_relay(app, tel, settings, db.engine, repository.outbox)
    access.install(app, InternalTokens(settings.internal_token_key, settings.service).verify, tel.metrics.registry)
    wire(app, Wiring(settings=settings, telemetry=tel, database=db, service=service, metrics=metrics, loops=loops))
    return app

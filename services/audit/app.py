"""The audit service (:8006): ``gunicorn -c gunicorn.conf.py 'services.audit.app:create_app()'``.

It runs the audit every ``AUDIT_INTERVAL_SECONDS`` in a daemon thread (first at start), exports the result as
``tienda_audit_violations{invariant}`` and ``tienda_audit_last_run_timestamp_seconds`` on ``/metrics`` for
Prometheus and its ``InvariantViolated`` alert, and answers ``GET /audit/report`` with the last run's
violations. ``POST /audit/runs`` runs it now (tests and operators). Both need an admin's internal token
(:mod:`services.audit.contract`; ``GET /openapi.json`` documents them).
Configuration is :class:`~services.audit.settings.AuditSettings`. Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from services.common import access
from services.common.auth import InternalTokens
from services.common.periodic import start_every
from services.common.web import Wiring, service_app, upstream_client, wire

from . import api
from .clients import HttpStateSource
from .domain import AuditService
from .metrics import AuditMetrics
from .settings import AuditSettings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app, tel, settings = service_app(__name__, AuditSettings, config)
    metrics = AuditMetrics(tel.metrics.registry)
    tokens = InternalTokens(settings.internal_token_key, settings.service)
    source = settings.source or HttpStateSource(
        orders=upstream_client(tel, settings, "orders", settings.orders_url),
        payments=upstream_client(tel, settings, "payments", settings.payments_url),
        products=upstream_client(tel, settings, "products", settings.products_url),
        tokens=tokens,
    )
    service = AuditService(
        source, metrics, bound_seconds=settings.settle_bound_seconds, page_size=settings.audit_page_size
    )
    app.register_blueprint(api.blueprint(service))
    api.openapi().install(app)
    access.install(app, tokens.verify, tel.metrics.registry)
    loops = start_every("audit", service.run, settings.audit_interval_seconds)
    wire(app, Wiring(settings=settings, telemetry=tel, database=None, service=service, metrics=metrics, loops=loops))
    return app

"""The audit service (:8006): ``gunicorn -c gunicorn.conf.py 'services.audit.app:create_app()'``.

It runs the audit every ``AUDIT_INTERVAL_SECONDS`` in a daemon thread (first at start), exports the result as
``tienda_audit_violations{invariant}`` and ``tienda_audit_last_run_timestamp_seconds`` on ``/metrics`` for
Prometheus and its ``InvariantViolated`` alert, and answers ``GET /audit/report`` with the last run's
violations. ``POST /audit/runs`` runs it now (tests and operators). Both need an admin's internal token.
Configuration is :class:`~services.audit.settings.AuditSettings`. Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue

from services.common import access
from services.common.access import admins, callers
from services.common.auth import InternalTokens
from services.common.errors import NotFound
from services.common.periodic import start_every
from services.common.web import Wiring, service_app, wire
from telemetry.http import Client

from .clients import HttpStateSource
from .domain import AuditService, Report
from .metrics import AuditMetrics
from .settings import AuditSettings


def report_body(report: Report) -> dict[str, Any]:
    return {
        "at": report.at.isoformat(),
        "violations": report.counts,
        "details": [{"invariant": v.invariant, "subject": v.subject, "message": v.message} for v in report.violations],
    }


def blueprint(service: AuditService) -> Blueprint:
    bp = Blueprint("audit", __name__)

    @bp.get("/audit/report")
    @callers(admins())
    def last_report() -> ResponseReturnValue:
        if service.last is None:
            raise NotFound("No audit run has completed yet.", code="no_report")
        return jsonify(report_body(service.last))

    @bp.post("/audit/runs")
    @callers(admins())
    def run_now() -> ResponseReturnValue:
        return jsonify(report_body(service.run()))

    return bp


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = AuditSettings.from_env().with_overrides(config)
    app, tel = service_app(__name__, settings)
    metrics = AuditMetrics(tel.metrics.registry)
    tokens = InternalTokens(settings.internal_token_key, settings.service)
    source = settings.source or HttpStateSource(
        orders=Client(settings.orders_url, telemetry=tel, name="orders"),
        payments=Client(settings.payments_url, telemetry=tel, name="payments"),
        products=Client(settings.products_url, telemetry=tel, name="products"),
        tokens=tokens,
    )
    service = AuditService(source, metrics, bound_seconds=settings.settle_bound_seconds)
    app.register_blueprint(blueprint(service))
    access.install(app, tokens.verify, tel.metrics.registry)
    loops = start_every("audit", service.run, settings.audit_interval_seconds)
    wire(app, Wiring(settings=settings, telemetry=tel, database=None, service=service, metrics=metrics, loops=loops))
    return app

"""HTTP glue of the audit service: the last report and a run on demand. Shapes are :mod:`services.audit.contract`;
:func:`openapi` documents the routes."""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue as Answer

from services.common.access import admins, callers
from services.common.contract import utc_timestamp
from services.common.openapi import UPSTREAM_FAILURES, ApiSpec

from .contract import AuditReport, ViolationOut
from .domain import AuditService, Report


def report_body(report: Report) -> AuditReport:
    """The report's answer; ``at`` to the microsecond, the precision of the clock and of the orders it judged."""
    return AuditReport(
        at=utc_timestamp(report.at, "microseconds"),
        violations=report.counts,
        details=[ViolationOut(invariant=v.invariant, subject=v.subject, message=v.message) for v in report.violations],
    )


def blueprint(service: AuditService) -> Blueprint:
    bp = Blueprint("audit", __name__)

    @bp.get("/audit/report")
    @callers(admins())
    def last_report() -> Answer:
        return jsonify(report_body(service.last_report()).model_dump())

    @bp.post("/audit/runs")
    @callers(admins())
    def run_now() -> Answer:
        return jsonify(report_body(service.run()).model_dump())

    return bp


@functools.cache
def openapi() -> ApiSpec:
    spec = ApiSpec(
        "tienda audit", "The integrity audit: conservation of money and stock across services.", internal=True
    )
    operation = functools.partial(spec.operation, tags=["audit"])
    operation("GET", "/audit/report", summary="The last run's findings", responses={200: AuditReport, 404: None})
    operation("POST", "/audit/runs", summary="Run the audit now", responses={200: AuditReport, **UPSTREAM_FAILURES})
    return spec

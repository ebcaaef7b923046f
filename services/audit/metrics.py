"""The audit's metrics, scraped from the audit service's ``/metrics``.

``tienda_audit_violations{invariant}``              violations found by the last completed run, per invariant
``tienda_audit_last_run_timestamp_seconds``         when the last run completed (Unix time)
``tienda_audit_runs_total{result}``                 runs by result: clean, violations, failed (a service unreadable)

Every series exists from the start: violations at zero, the timestamp at zero until the first run, so the
``InvariantViolated`` alert and a staleness check work from the first scrape.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge

from telemetry.metrics import counter_by, gauge_by

from .domain import INVARIANTS, AuditEvents

RESULTS = ("clean", "violations", "failed")


class AuditMetrics(AuditEvents):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.violations = gauge_by(
            "tienda_audit_violations",
            "Violations of each conservation invariant found by the last completed audit run.",
            "invariant",
            INVARIANTS,
            registry,
        )
        self.last_run_timestamp_seconds = Gauge(
            "tienda_audit_last_run_timestamp_seconds",
            "Unix time at which the last audit run completed.",
            registry=registry,
        )
        self.runs_total = counter_by(
            "tienda_audit_runs_total",
            "Audit runs by result: clean, violations, failed (a service could not be read).",
            "result",
            RESULTS,
            registry,
        )

    def ran(self, violations: dict[str, int], at: datetime) -> None:
        for invariant, count in violations.items():
            self.violations.labels(invariant).set(count)
        self.last_run_timestamp_seconds.set(at.timestamp())
        self.runs_total.labels("violations" if any(violations.values()) else "clean").inc()

    def failed(self) -> None:
        self.runs_total.labels("failed").inc()

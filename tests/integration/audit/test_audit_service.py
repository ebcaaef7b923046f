"""The audit service: what a run finds reaches /audit/report, the JSON log and the Prometheus series."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from services.audit.app import create_app
from services.audit.domain import INVARIANTS, OrderRecord, PaymentRecord
from services.common.errors import Failure, UpstreamFailure
from services.common.stock import ProductStock
from services.common.web import wiring
from tests.support.audit import FakeStateSource
from tests.support.auth import ADMIN, calling_as

LONG_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def source() -> FakeStateSource:
    return FakeStateSource(
        product_rows=[ProductStock(1, stock=10, initial_stock=10, restocked=0, held=0, committed=0)],
    )


@pytest.fixture
def audit(source):
    registry, logs = CollectorRegistry(), io.StringIO()
    app = create_app(
        {
            "source": source,
            "registry": registry,
            "log_stream": logs,
            "tracer_provider": TracerProvider(),
            "audit_interval_seconds": 0,
        }
    )
    return calling_as(app, ADMIN), registry, logs  # operators and tests ask for runs and reports as admins


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_before_any_run_every_invariant_is_exported_at_zero_and_the_report_is_not_found(audit):
    app, registry, _ = audit
    assert {name: sample(registry, "tienda_audit_violations", invariant=name) for name in INVARIANTS} == dict.fromkeys(
        INVARIANTS, 0.0
    )
    assert sample(registry, "tienda_audit_last_run_timestamp_seconds") == 0
    response = app.test_client().get("/audit/report")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_report"


def test_a_clean_run_reports_no_violations_and_stamps_the_time(audit):
    app, registry, _ = audit
    client = app.test_client()
    assert client.post("/audit/runs").status_code == 200
    report = client.get("/audit/report").get_json()
    assert report["violations"] == dict.fromkeys(INVARIANTS, 0)
    assert report["details"] == []
    assert sample(registry, "tienda_audit_last_run_timestamp_seconds") > 0
    assert sample(registry, "tienda_audit_runs_total", result="clean") == 1


def test_the_reports_at_is_the_runs_instant_in_utc_ending_in_z(audit):
    app, _, _ = audit
    at = app.test_client().post("/audit/runs").get_json()["at"]
    assert at.endswith("Z")
    assert datetime.fromisoformat(at) == wiring(app).service.last_report().at


def test_a_charge_without_its_order_is_reported_logged_and_exported(audit, source):
    app, registry, logs = audit
    source.order_rows.append(OrderRecord(7, "s-7", "failed", created_at=LONG_AGO, updated_at=LONG_AGO))
    source.payment_rows.append(PaymentRecord("s-7", 7, "completed", 1250))
    report = app.test_client().post("/audit/runs").get_json()
    assert report["violations"]["charge_has_confirmed_order"] == 1
    assert report["details"] == [
        {
            "invariant": "charge_has_confirmed_order",
            "subject": "saga s-7",
            "message": "a completed charge, but order 7 is failed",
        }
    ]
    assert sample(registry, "tienda_audit_violations", invariant="charge_has_confirmed_order") == 1
    assert sample(registry, "tienda_audit_runs_total", result="violations") == 1
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    violation = next(line for line in lines if line.get("event") == "audit.violation")
    assert violation["level"] == "ERROR"
    assert violation["invariant"] == "charge_has_confirmed_order"
    assert violation["subject"] == "saga s-7"


def test_once_the_shop_heals_the_next_run_sets_the_violation_back_to_zero(audit, source):
    app, registry, _ = audit
    source.product_rows[0] = ProductStock(1, stock=9, initial_stock=10, restocked=0, held=0, committed=0)
    app.test_client().post("/audit/runs")
    assert sample(registry, "tienda_audit_violations", invariant="stock_conserved") == 1
    source.product_rows[0] = ProductStock(1, stock=9, initial_stock=10, restocked=0, held=1, committed=0)
    source.order_rows.append(OrderRecord(1, "h", "pending", created_at=datetime.now(UTC), updated_at=LONG_AGO))
    app.test_client().post("/audit/runs")
    assert sample(registry, "tienda_audit_violations", invariant="stock_conserved") == 0


def test_a_run_that_cannot_read_a_service_fails_and_keeps_the_last_counts(audit, source):
    app, registry, _ = audit
    client = app.test_client()
    source.product_rows[0] = ProductStock(1, stock=9, initial_stock=10, restocked=0, held=0, committed=0)
    client.post("/audit/runs")
    source.failing = UpstreamFailure("payments", Failure.UNREACHABLE)
    response = client.post("/audit/runs")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "upstream_unavailable"
    assert sample(registry, "tienda_audit_runs_total", result="failed") == 1
    assert sample(registry, "tienda_audit_violations", invariant="stock_conserved") == 1


def test_the_audit_loop_runs_at_start_when_an_interval_is_set(source):
    app = create_app(
        {
            "source": source,
            "registry": CollectorRegistry(),
            "tracer_provider": TracerProvider(),
            "log_stream": io.StringIO(),
            "audit_interval_seconds": 3600,
        }
    )
    loop = wiring(app).loops[0]
    try:
        assert loop.wait_for_runs(1, timeout_seconds=10)
        assert wiring(app).service.last is not None
    finally:
        loop.stop()


def test_an_unknown_setting_is_refused():
    from telemetry import ConfigError

    with pytest.raises(ConfigError, match="AuditSettings has no setting audit_every"):
        create_app({"audit_every": 5})

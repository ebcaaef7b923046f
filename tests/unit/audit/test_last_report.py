"""The audit's last report: refused as 404 ``no_report`` before the first run, that run's report after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.audit.domain import AuditEvents, AuditService, NoReport
from services.common.errors import NotFound
from tests.support.audit import FakeStateSource

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class QuietResults(AuditEvents):
    def ran(self, violations: dict[str, int], at: datetime) -> None: ...

    def failed(self) -> None: ...


def service() -> AuditService:
    return AuditService(FakeStateSource(), QuietResults(), bound_seconds=60, clock=lambda: NOW)


def test_before_any_run_the_last_report_is_refused_as_no_report_not_found():
    with pytest.raises(NoReport) as caught:
        service().last_report()
    assert isinstance(caught.value, NotFound)
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        404,
        "no_report",
        "No audit run has completed yet.",
    )


def test_after_a_run_the_last_report_is_that_runs_report():
    audit = service()
    report = audit.run()
    assert audit.last_report() is report
    assert (report.at, report.violations) == (NOW, [])

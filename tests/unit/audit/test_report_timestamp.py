"""The audit report's ``at``: UTC ending in ``Z``, to the microsecond, like every other time the contracts write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.audit.api import report_body
from services.audit.domain import Report

AT = datetime(2030, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_the_reports_at_ends_in_z_and_parses_back_to_the_same_instant():
    at = report_body(Report(AT, [])).at
    assert at == "2030-01-01T12:30:15.123456Z"
    assert datetime.fromisoformat(at) == AT


def test_a_run_stamped_in_another_zone_is_written_in_utc():
    elsewhere = AT.astimezone(timezone(timedelta(hours=-5)))
    at = report_body(Report(elsewhere, [])).at
    assert at.endswith("Z")
    assert datetime.fromisoformat(at) == AT

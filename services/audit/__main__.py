"""``python -m services.audit``: audit the running shop once and print what is wrong.

Reads orders, payments and products at ``ORDERS_URL``, ``PAYMENTS_URL`` and ``PRODUCTS_URL`` (default the local
ports), prints one line per violation and a summary, and exits 0 when every invariant holds, 1 when one does
not, 2 when a service could not be read. It is the audit service's own code, run once without its loop.
"""

from __future__ import annotations

import sys

from services.common.contract import utc_timestamp
from services.common.errors import DomainError
from services.common.web import wiring

from .app import create_app
from .domain import AuditService


def main() -> int:
    service: AuditService = wiring(create_app({"audit_interval_seconds": 0})).service
    try:
        report = service.run()
    except DomainError as exc:
        print(f"audit failed: {exc.message}", file=sys.stderr)
        return 2
    for violation in report.violations:
        print(f"VIOLATION {violation.invariant}: {violation.subject}: {violation.message}")
    broken = {name: count for name, count in report.counts.items() if count}
    print(
        f"audit at {utc_timestamp(report.at, 'microseconds')}: "
        + (f"{len(report.violations)} violations {broken}" if broken else "every invariant holds")
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

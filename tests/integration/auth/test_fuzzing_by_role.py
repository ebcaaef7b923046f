"""schemathesis fuzzes every service's own OpenAPI document in process, as each kind of caller: no 5xx.

The gateway's public document is fuzzed through the running shop (tests/e2e/test_gateway_fuzzing.py).

Each service runs on its own SQLite database (orders with fake products and payments), and every operation of its
document is fuzzed with positive and negative cases as no one, the gateway itself, a user and an admin through the
gateway, orders and the audit. Whoever calls, a request ends as an answer of the contract or a 4xx with the JSON
error body, never a server error. Bounded: three cases per operation and mode, each sent by every caller.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from services.audit.app import create_app as create_audit
from services.common.web import wiring
from services.notifications.app import create_app as create_notifications
from services.payments.app import create_app as create_payments
from services.products.app import create_app as create_products
from services.users.app import create_app as create_users
from tests.support.audit import FakeStateSource
from tests.support.auth import AUDIT, GATEWAY, ORDERS, as_admin, as_user
from tests.support.orders import OrdersHarness
from tests.support.users import CHEAP_HASHING

CALLERS = {
    "nobody": {},
    "gateway": GATEWAY,
    "user": as_user(7),
    "admin": as_admin(1),
    "orders": ORDERS,
    "audit": AUDIT,
}

#: The callers some route of each service names (docs/security.md).
NAMED = {
    "products": {"gateway", "user", "admin", "orders", "audit"},
    "payments": {"user", "admin", "orders", "audit"},
    "users": {"gateway"},
    "orders": {"user", "admin", "audit"},
    "notifications": {"user", "admin"},
    "audit": {"admin"},
}
#: Services without a database of their own here (the others' are disposed of at the end).
NO_DATABASE = {"orders", "audit"}


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    tmp = tmp_path_factory.mktemp("fuzz")
    quiet = {"log_stream": io.StringIO()}
    orders = OrdersHarness(f"sqlite:///{tmp / 'orders.db'}")
    made = {
        "products": create_products(
            {
                "database_url": f"sqlite:///{tmp / 'p.db'}",
                "seed_catalog": True,
                "reservation_sweep_interval_seconds": 0,
                **quiet,
            }
        ),
        "payments": create_payments(
            {"database_url": f"sqlite:///{tmp / 'pay.db'}", "reconcile_interval_seconds": 0, **quiet}
        ),
        "users": create_users({"database_url": f"sqlite:///{tmp / 'u.db'}", **CHEAP_HASHING, **quiet}),
        "orders": orders.app,
        "notifications": create_notifications({"database_url": f"sqlite:///{tmp / 'n.db'}", **quiet}),
        "audit": create_audit({"source": FakeStateSource(), "audit_interval_seconds": 0, **quiet}),
    }
    yield made
    for name, app in made.items():
        if name not in NO_DATABASE:
            wiring(app).database.dispose()
    orders.close()
    monkeypatch.undo()


@pytest.mark.parametrize("service", sorted(NAMED))
def test_fuzzing_a_services_own_document_as_every_caller_finds_no_server_error(apps, service):
    app = apps[service]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, service
    seen: dict[str, set[int]] = {caller: set() for caller in CALLERS}

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def fuzz(case):
                for caller, headers in CALLERS.items():  # the same case sent by each caller
                    response = case.call(headers=dict(headers))
                    where = (service, caller, case.method, case.formatted_path, response.status_code)
                    assert response.status_code < 500, (*where, response.text)
                    if response.status_code >= 400:
                        assert response.json()["error"]["code"], where
                    seen[caller].add(response.status_code)

            fuzz()

    # The gate answers nobody before anything else, where a route matched at all; the callers the service's
    # routes name got past it (an answer that is neither 401, 403 nor 404).
    assert 401 in seen["nobody"] and seen["nobody"] <= {401, 404}
    past = {caller for caller, statuses in seen.items() if statuses - {401, 403, 404}}
    assert past >= NAMED[service], seen

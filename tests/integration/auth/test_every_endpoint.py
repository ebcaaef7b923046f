"""Every internal endpoint, enumerated from each service's URL map, refuses whoever its rule does not name.

Each service runs in process on SQLite and PostgreSQL with data in place (a product with a held and a committed
reservation, a completed charge, a confirmed order, a registered user, a fault rule). Against every gated route
and method: no token, forged ``X-User-*`` headers, a user's own JWT sent straight to the service, an expired
internal token, one signed with another key, and every candidate caller the route's rule does not name. Each
gets 401 or 403 with the JSON error body, the refusal is counted and logged, and afterwards every row of the
service's database, its fault rules and the calls it made are as they were.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry

from services.audit.app import create_app as create_audit
from services.common.auth import InternalTokens, issue_token
from services.common.web import wiring
from services.payments.app import create_app as create_payments
from services.products.app import create_app as create_products
from services.users.app import create_app as create_users
from tests.support.access import CANDIDATES, declared_rules, gated, headers_of, is_faults, path_of, rows
from tests.support.audit import FakeStateSource
from tests.support.auth import ADMIN, GATEWAY, INTERNAL_TOKEN_KEY, ORDERS, as_user
from tests.support.databases import database
from tests.support.orders import OrdersHarness
from tests.support.payments import charge_body
from tests.support.users import CHEAP_HASHING, JWT_SECRET

HARMLESS_FAULT = {"target": "GET /never/called", "fault": "latency", "delay_seconds": 0.001}
#: Path variables of the routes, naming the rows put in place.
VALUES = {"product_id": "1", "reservation_id": "held-1", "payment_id": "1", "order_id": "1"}


@dataclass
class Service:
    name: str
    app: Flask
    state: Any  # () -> a snapshot of everything a request could change

    def snapshot(self) -> Any:
        return self.state(), [rule.to_dict() for rule in wiring(self.app).telemetry.faults.list()]


def _products(url: str) -> Service:
    app = create_products(
        {
            "database_url": url,
            "seed_catalog": False,
            "log_stream": io.StringIO(),
            "reservation_sweep_interval_seconds": 0,
        }
    )
    client = app.test_client()
    client.post("/products", json={"sku": "MUG", "name": "Mug", "price_cents": 900, "stock": 10},
                headers=ADMIN)  # fmt: skip
    for reservation in ("held-1", "done-1"):
        client.post("/reservations", json={"reservation_id": reservation, "items": [{"product_id": 1, "quantity": 2}]},
                    headers=ORDERS)  # fmt: skip
    client.post("/reservations/done-1/commit", headers=ORDERS)
    return Service("products", app, lambda: rows(wiring(app).database.engine))


def _payments(url: str) -> Service:
    app = create_payments({"database_url": url, "log_stream": io.StringIO(), "reconcile_interval_seconds": 0})
    assert app.test_client().post("/payments", json=charge_body(order_id=1), headers=ORDERS).status_code == 201
    return Service("payments", app, lambda: rows(wiring(app).database.engine))


def _orders(url: str) -> Service:
    harness = OrdersHarness(url)
    assert harness.order().status_code == 201
    harness.journal.clear()
    return Service("orders", harness.app, lambda: (rows(harness.db.engine), list(harness.journal)))


def _users(url: str) -> Service:
    app = create_users({"database_url": url, "jwt_secret": JWT_SECRET, "log_stream": io.StringIO(), **CHEAP_HASHING})
    body = {"email": "ada@example.com", "password": "correct horse", "name": "Ada"}
    assert app.test_client().post("/users", json=body, headers=GATEWAY).status_code == 201
    return Service("users", app, lambda: rows(wiring(app).database.engine))


def _audit() -> Service:
    logs, registry = io.StringIO(), CollectorRegistry()
    source = FakeStateSource()
    app = create_audit({"source": source, "registry": registry, "log_stream": logs, "audit_interval_seconds": 0})

    def state() -> Any:
        return wiring(app).service.last, registry.get_sample_value("tienda_audit_runs_total", {"result": "ok"})

    return Service("audit", app, state)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def services(request, tmp_path_factory) -> Iterator[dict[str, Service]]:
    tmp = tmp_path_factory.mktemp("access")
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        database(request.param, tmp, "products") as products,
        database(request.param, tmp, "payments") as payments,
        database(request.param, tmp, "orders") as orders,
        database(request.param, tmp, "users") as users,
    ):
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
        built = [_products(products), _payments(payments), _orders(orders), _users(users), _audit()]
        for service in built:
            wiring(service.app).telemetry.faults.set([HARMLESS_FAULT])
        yield {service.name: service for service in built}
        for service in built:
            database_ = wiring(service.app).database
            if database_ is not None:
                database_.dispose()


def _expired(caller_service: str) -> dict[str, str]:
    return InternalTokens(INTERNAL_TOKEN_KEY, caller_service, clock=lambda: time.time() - 3600).headers()


def bad_credentials() -> dict[str, tuple[dict[str, str], int, str]]:
    """Made when a test runs: a token lives a minute."""
    return {
        "no token": ({"Authorization": ""}, 401, "missing_token"),
        "forged identity headers": ({"X-User-Id": "1", "X-User-Role": "admin"}, 401, "missing_token"),
        "a user's own JWT": ({"Authorization": "Bearer " + issue_token(1, "admin", JWT_SECRET)}, 401, "invalid_token"),
        "an expired internal token": (_expired("orders"), 401, "token_expired"),
        "another key": (InternalTokens("another-key-" + "z" * 32, "orders").headers(), 401, "invalid_token"),
        "not a bearer token": ({"Authorization": "Basic b3JkZXJzOm9yZGVycw=="}, 401, "missing_token"),
    }


SERVICES = ("products", "payments", "orders", "users", "audit")


def _refusals(service: Service) -> float:
    registry = wiring(service.app).telemetry.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "tienda_auth_refusals"
        for sample in metric.samples
        if sample.name == "tienda_auth_refusals_total"
    )


def _refusal_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if getattr(record, "event", None) == "auth.refused"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_gated_endpoint_refuses_bad_credentials_and_callers_its_rule_does_not_name(services, name, caplog):
    service = services[name]
    client = service.app.test_client()
    rules = declared_rules(service.app)
    routes = gated(service.app)
    assert routes, "the service has gated routes"
    before = service.snapshot()
    counted = _refusals(service)
    caplog.set_level(logging.WARNING, logger="services.access")
    refused = 0

    for method, rule, endpoint in routes:
        path = path_of(rule, VALUES)
        body = {"faults": []} if is_faults(endpoint) else {}
        attempts = [(case, headers, status, code) for case, (headers, status, code) in bad_credentials().items()]
        attempts += [
            (repr(caller), headers_of(caller), 403, "forbidden_caller")
            for caller in CANDIDATES
            if not rules[endpoint].allows(caller)
        ]
        for case, headers, status, code in attempts:
            response = client.open(path, method=method, json=body if method in ("POST", "PUT") else None,
                                   headers=headers)  # fmt: skip
            where = (method, rule, case)
            assert response.status_code == status, (*where, response.get_data(as_text=True))
            error = response.get_json()["error"]
            assert error["code"] == code, where
            assert error["message"] and error["request_id"] == response.headers["X-Request-ID"], where
            refused += 1

    assert service.snapshot() == before
    assert _refusals(service) - counted == refused
    lines = _refusal_lines(caplog)
    assert len(lines) == refused
    assert {line.reason for line in lines} == {"missing_token", "invalid_token", "token_expired", "forbidden_caller"}  # type: ignore[attr-defined]
    assert all(line.route in {rule for _, rule, _ in routes} and line.levelname == "WARNING" for line in lines)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", SERVICES)
def test_the_callers_a_rule_names_get_past_the_gate(services, name):
    service = services[name]
    client = service.app.test_client()
    rules = declared_rules(service.app)

    for method, rule, endpoint in gated(service.app):
        allowed = [caller for caller in CANDIDATES if rules[endpoint].allows(caller)]
        assert allowed, (method, rule)
        for caller in allowed:
            body = {"faults": [HARMLESS_FAULT]} if is_faults(endpoint) else {}
            response = client.open(path_of(rule, VALUES), method=method,
                                   json=body if method in ("POST", "PUT") else None,
                                   headers=headers_of(caller))  # fmt: skip
            assert response.status_code not in (401, 403), (method, rule, caller, response.get_data(as_text=True))


def test_another_users_token_finds_no_order_and_cancels_nothing(services):
    orders = services["orders"]
    client = orders.app.test_client()
    before = orders.snapshot()

    for method, path in (("GET", "/orders/1"), ("POST", "/orders/1/cancel")):
        response = client.open(path, method=method, headers=as_user(8))
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "order_not_found")
    assert client.get("/orders", headers=as_user(8)).get_json()["total"] == 0

    assert orders.snapshot() == before


def test_another_users_token_reads_that_user_and_nobody_else(services):
    users = services["users"]

    response = users.app.test_client().get("/users/me", headers=as_user(2))

    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "user_not_found")

"""docs/security.md's table "Who may call what" is what the services declare, route for route."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from services.audit.app import create_app as create_audit
from services.common.web import wiring
from services.orders.app import create_app as create_orders
from services.payments.app import create_app as create_payments
from services.products.app import create_app as create_products
from services.users.app import create_app as create_users
from tests.support.access import declared_rules, gated, is_faults, template
from tests.support.audit import FakeStateSource

SECURITY = Path(__file__).resolve().parents[3] / "docs" / "security.md"
ROW = re.compile(r"^\| (?P<service>[a-z ]+) \| `(?P<route>[A-Z ]+ /[^`]*)` \| (?P<callers>[^|]+) \|$")


def documented() -> set[tuple[str, str, str]]:
    text = SECURITY.read_text()
    section = text.split("## Who may call what", 1)[1].split("\n## ", 1)[0]
    rows = {(m["service"], m["route"], m["callers"].strip()) for line in section.splitlines() if (m := ROW.match(line))}
    assert rows, "the table is found"
    return rows


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("who")
    quiet = {"log_stream": io.StringIO()}
    made = {
        "products": create_products({"database_url": f"sqlite:///{tmp / 'p.db'}", "seed_catalog": False, **quiet}),
        "orders": create_orders({"database_url": f"sqlite:///{tmp / 'o.db'}", "recovery_interval_seconds": 0, **quiet}),
        "payments": create_payments(
            {"database_url": f"sqlite:///{tmp / 'pay.db'}", "reconcile_interval_seconds": 0, **quiet}
        ),
        "users": create_users({"database_url": f"sqlite:///{tmp / 'u.db'}", **quiet}),
        "audit": create_audit({"source": FakeStateSource(), "audit_interval_seconds": 0, **quiet}),
    }
    yield made
    for app in made.values():
        database = wiring(app).database
        if database is not None:
            database.dispose()


def test_the_table_of_who_may_call_what_is_what_every_service_declares(apps):
    declared = set()
    for name, app in apps.items():
        rules = declared_rules(app)
        methods: dict[tuple[str, str], list[str]] = {}
        for method, rule, endpoint in gated(app):
            methods.setdefault((rule, endpoint), []).append(method)
        for (rule, endpoint), verbs in methods.items():
            service = "every service" if is_faults(endpoint) else name
            order = ["GET", "POST", "PUT", "DELETE", "PATCH"]
            route = " ".join(sorted(verbs, key=order.index)) + " " + template(rule)
            declared.add((service, route, rules[endpoint].describe()))

    assert declared == documented()


def test_a_route_added_after_the_gate_is_refused_to_every_caller_and_one_without_callers_stops_the_start():
    from flask import Flask
    from prometheus_client import CollectorRegistry

    from services.common import access
    from services.common.auth import InternalTokens
    from services.common.errors import install as install_errors
    from telemetry import ConfigError
    from tests.support.auth import ADMIN, INTERNAL_TOKEN_KEY, ORDERS

    app = Flask("late-route")
    install_errors(app)
    access.install(app, InternalTokens(INTERNAL_TOKEN_KEY, "products").verify, CollectorRegistry())
    app.add_url_rule("/late", "late", lambda: "reached", methods=["GET"])

    for caller in (ORDERS, ADMIN):
        response = app.test_client().get("/late", headers=caller)
        assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden_caller")
    with pytest.raises(ConfigError, match="no callers declared for late"):
        access.install(app, InternalTokens(INTERNAL_TOKEN_KEY, "products").verify, CollectorRegistry())

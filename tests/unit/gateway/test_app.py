"""create_app wiring: one client per service with its timeouts, one readiness check per service, nothing
connected before a request needs it."""

from __future__ import annotations

import io

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.orders.contract import checkout_worst_case_seconds
from telemetry import ConfigError

NOWHERE = {f"{name}_url": "http://127.0.0.1:9" for name in ("users", "products", "orders", "payments")}


@pytest.fixture
def make_app():
    providers = []

    def make(**config):
        provider = TracerProvider()
        providers.append(provider)
        options = {"tracer_provider": provider, "registry": CollectorRegistry(), "log_stream": io.StringIO()}
        return create_app({"jwt_secret": "x" * 32, **NOWHERE, **options, **config})

    yield make
    for provider in providers:
        provider.shutdown()


def _clients(app):
    gateway = app.extensions["tienda"].service
    return {u.name: u.http for u in (gateway.users, gateway.products, gateway.orders, gateway.payments)}


def test_orders_gets_the_checkouts_worst_case_to_answer_the_others_5_and_every_connect_1(make_app):
    clients = _clients(make_app())

    assert {name: client.timeout for name, client in clients.items()} == {
        "users": (1.0, 5.0),
        "products": (1.0, 5.0),
        "orders": (1.0, 20.0),
        "payments": (1.0, 5.0),
    }


def test_the_order_budget_covers_every_call_a_checkout_waits_for_at_orders_timeouts(make_app):
    gateway = make_app().extensions["tienda"].service

    # reserve, charge, commit, each up to orders' 1 s connect and 5 s read timeouts, and 2 s of orders' own work
    assert gateway.orders.order_budget_seconds == checkout_worst_case_seconds() == 3 * (1 + 5) + 2
    assert checkout_worst_case_seconds(0.5, 2) == 3 * 2.5 + 2


def test_the_order_budget_is_read_from_order_budget_seconds(monkeypatch, make_app):
    monkeypatch.setenv("ORDER_BUDGET_SECONDS", "7.5")

    app = make_app()

    assert app.extensions["tienda"].service.orders.order_budget_seconds == 7.5


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_an_order_budget_that_is_not_a_positive_number_is_a_configuration_error_naming_it(monkeypatch, value):
    monkeypatch.setenv("ORDER_BUDGET_SECONDS", value)

    with pytest.raises(ConfigError, match="ORDER_BUDGET_SECONDS"):
        GatewaySettings.from_env()


def test_each_client_calls_its_own_service(make_app):
    urls = {f"{name}_url": f"http://{name}.internal:80{i}" for i, name in enumerate(("users", "products"))}

    clients = _clients(make_app(**urls))

    assert clients["users"].base_url == "http://users.internal:800/"
    assert clients["products"].base_url == "http://products.internal:801/"
    assert clients["users"].name == "users"


def test_timeouts_can_be_shortened_by_configuration(make_app):
    clients = _clients(make_app(upstream_read_timeout_seconds=0.3, upstream_connect_timeout_seconds=0.2))

    assert {client.timeout for client in clients.values()} == {(0.2, 0.3)}


def test_orders_timeout_variables_leave_the_gateways_own_timeouts_alone(monkeypatch, make_app):
    default = {name: client.timeout for name, client in _clients(make_app()).items()}
    monkeypatch.setenv("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0.25")
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT_SECONDS", "3")

    assert {name: client.timeout for name, client in _clients(make_app()).items()} == default


@pytest.mark.parametrize("value", [0, -1, "5", True, [1]])
def test_a_timeout_that_is_not_a_positive_number_is_a_configuration_error(make_app, value):
    with pytest.raises(ConfigError, match="upstream_read_timeout_seconds"):
        make_app(upstream_read_timeout_seconds=value)


def test_one_readiness_check_per_service_with_a_one_second_budget(make_app):
    checks = make_app().extensions["telemetry"].health.checks

    assert sorted(checks) == ["orders", "payments", "products", "users"]
    assert {check.timeout_seconds for check in checks.values()} == {1.0}


def test_creating_the_app_with_every_service_unreachable_succeeds_and_live_answers(make_app):
    app = make_app()

    assert app.test_client().get("/health/live").status_code == 200


def test_a_misspelt_setting_is_a_configuration_error_naming_it(make_app):
    with pytest.raises(ConfigError, match="GatewaySettings has no setting upstream_timeout_seconds"):
        make_app(upstream_timeout_seconds=1)

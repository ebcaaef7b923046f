"""A late charge: payments answers after orders gave up on the charge, and the late charge does not stick.

Orders runs with its real payments client against a real payments app served over HTTP, each on its own
database of the test's kind (both have an ``outbox`` table). The charge request is held before it reaches
payments, longer than orders waits for it.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from services.common.web import wiring
from services.orders.clients import PaymentsClient
from services.payments.app import create_app as create_payments_app
from telemetry.http import Client
from tests.support.auth import ORDERS
from tests.support.captured import instrumented
from tests.support.databases import database
from tests.support.fakes.payments import CountingProvider
from tests.support.orders import OrdersHarness, served_holding


@pytest.fixture
def payments_database(database_url, tmp_path):
    """A second database of the kind of ``database_url``, for payments."""
    with database("postgres" if database_url.startswith("postgresql") else "sqlite", tmp_path, "payments") as url:
        yield url


@pytest.fixture
def payments_server(payments_database):
    provider = CountingProvider()
    app = create_payments_app(
        {"database_url": payments_database, "payment_provider": provider, "reconcile_interval_seconds": 0}
    )
    with served_holding(app, "POST", "/payments") as (url, held):
        yield url, held, provider, app


@pytest.fixture
def orders_on_real_payments(database_url, payments_server):
    url = payments_server[0]
    client = PaymentsClient(
        Client(url, telemetry=instrumented("orders"), name="payments", read_timeout_seconds=0.5), ORDERS.tokens
    )
    harness = OrdersHarness(database_url, payments=client, recovery_grace_seconds=0)
    yield harness
    harness.close()


def payment_rows(app) -> list[tuple[str, str, int]]:
    with wiring(app).database.engine.connect() as connection:
        rows = connection.execute(text("SELECT saga_id, status, amount_cents FROM payments ORDER BY id"))
        return [tuple(row) for row in rows]


def test_a_charge_that_reaches_payments_after_orders_gave_up_is_refused_and_never_reaches_the_card_network(
    orders_on_real_payments, payments_server
):
    orders = orders_on_real_payments
    _, held, provider, payments_app = payments_server

    response = orders.order()
    assert response.status_code == 504 and held.arrived.is_set()
    (row,) = orders.rows()
    assert (row.status, row.failure_reason) == ("failed", "payments_unavailable")
    assert orders.inventory.stock(1) == 10
    assert payment_rows(payments_app) == [(row.saga_id, "voided", 0)]  # the void's tombstone

    held.gate.set()  # the late charge arrives now
    assert held.answered.wait(10)

    assert held.statuses == ["409 CONFLICT"]
    assert provider.calls == []  # the card was never charged
    assert payment_rows(payments_app) == [(row.saga_id, "voided", 0)]
    orders.service.recover_unfinished()
    assert orders.row(row.id).status == "failed"


class HeldProvider(CountingProvider):
    """Approves, but only once :attr:`gate` opens: the card network answers after orders gave up."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.asked = threading.Event()

    def authorize(self, key, card, amount):
        self.asked.set()
        self.gate.wait(10)
        return super().authorize(key, card, amount)


def test_a_charge_the_card_network_approves_after_orders_gave_up_is_refunded_when_it_settles(
    database_url, payments_database
):
    provider = HeldProvider()
    payments_app = create_payments_app(
        {"database_url": payments_database, "payment_provider": provider, "reconcile_interval_seconds": 0}
    )
    server = make_server("127.0.0.1", 0, payments_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    client = PaymentsClient(
        Client(url, telemetry=instrumented("orders"), name="payments", read_timeout_seconds=0.5), ORDERS.tokens
    )
    orders = OrdersHarness(database_url, payments=client, recovery_grace_seconds=0)
    try:
        response = orders.order()
        assert response.status_code == 504 and provider.asked.is_set()
        (row,) = orders.rows()
        assert row.status == "compensating"  # the charge is still at the card network: not known yet
        assert [(saga, status) for saga, status, _ in payment_rows(payments_app)] == [(row.saga_id, "processing")]

        provider.gate.set()  # the card network approves now, after orders gave up
        settled = threading.Event()
        # Poll for the request in flight to settle the payment (10 s at most). It writes completed, then refunds
        # at once because orders asked for a void meanwhile: completed is a step on the way, not the outcome.
        for _ in range(200):
            if payment_rows(payments_app)[0][1] not in ("processing", "completed") or settled.wait(0.05):
                break
        assert [(saga, status) for saga, status, _ in payment_rows(payments_app)] == [(row.saga_id, "refunded")]
        assert len(provider.calls) == 1

        orders.service.recover_unfinished()  # the sweep voids again, learns it was refunded, and ends the order
        assert orders.row(row.id).status == "failed" and orders.inventory.stock(1) == 10
    finally:
        provider.gate.set()
        orders.close()
        server.shutdown()
        server.server_close()
        thread.join(10)
        wiring(payments_app).database.dispose()

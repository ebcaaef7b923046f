"""Reservations never stay ``held``: the products app's own sweeper releases one held past its TTL, gives its stock
back, counts and logs it, and a later commit is refused, so an order whose checkout outlived its reservation
compensates (orders in the test with its real products client over HTTP) and keeps neither money nor stock.
Committed stock never expires. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry

import telemetry
from services.common.web import EXTENSION
from services.orders.clients import ProductsClient
from telemetry.http import Client
from tests.support.auth import AUDIT, ORDERS
from tests.support.fakes.orders import FakePayments
from tests.support.orders import OrdersHarness, order_body
from tests.support.products import ProductsHarness

WAIT_RUNS = 400  # the loop runs every 0.05 s: 20 s at most for a reservation 0.3 s old to go


@pytest.fixture
def swept(shared_database_url):
    harness = ProductsHarness(shared_database_url, reservation_ttl_seconds=0.3, reservation_sweep_interval_seconds=0.05)
    harness.empty_database()
    yield harness, harness.app.extensions[EXTENSION].loops[0]
    harness.close()


def reserve(client, reservation_id, product_id, quantity):
    body = {"reservation_id": reservation_id, "items": [{"product_id": product_id, "quantity": quantity}]}
    response = client.post("/reservations", json=body)
    assert response.status_code == 201, response.get_json()


def status(client, reservation_id):
    return client.get(f"/reservations/{reservation_id}").get_json()["status"]


def test_a_held_reservation_past_its_ttl_is_released_with_its_stock_back_and_a_committed_one_never_is(swept):
    products, loop = swept
    client = products.client
    mug = products.add_product("MUG", stock=10)
    reserve(client, "abandoned", mug.id, 3)
    reserve(client, "confirmed", mug.id, 2)
    assert client.post("/reservations/confirmed/commit").status_code == 200

    for _ in range(WAIT_RUNS):
        if status(client, "abandoned") != "held" or not loop.wait_for_runs(loop.runs + 1, 10):
            break
    assert status(client, "abandoned") == "released"
    assert products.stock(mug.id) == 8

    late = client.post("/reservations/abandoned/commit")
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "reservation_released")

    assert loop.wait_for_runs(loop.runs + 3, 10)  # more sweeps, long after the committed one's TTL too
    assert status(client, "confirmed") == "committed"
    assert products.stock(mug.id) == 8
    [stock] = client.get("/audit/stock", headers=AUDIT).get_json()["products"]
    assert (stock["stock"], stock["held"], stock["committed"], stock["initial_stock"]) == (8, 0, 2, 10)
    assert products.outcome("expired") == 1 and products.outcome("released") == 0
    [event] = products.events("stock.expired")
    assert (event["reservation_id"], event["product_ids"], event["quantity"]) == ("abandoned", [mug.id], 3)


class ChargeAfterGate(FakePayments):
    """The card network answers only once :attr:`gate` opens: the checkout outlives its reservation."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.asked = threading.Event()

    def charge(self, *args, **kwargs):
        self.asked.set()
        self.gate.wait(20)
        return super().charge(*args, **kwargs)


def test_a_checkout_that_outlives_its_reservation_is_refused_the_commit_and_compensates_with_nothing_kept(
    swept, shared_database_url
):
    products, loop = swept
    mug = products.add_product("MUG", stock=10, price_cents=1250)
    payments = ChargeAfterGate()
    tel = telemetry.instrument(
        Flask("orders-ttl"), service_name="orders", registry=CollectorRegistry(), log_stream=io.StringIO()
    )
    with products.served() as url:
        inventory = ProductsClient(Client(url, telemetry=tel, name="products"), ORDERS.tokens)
        orders = OrdersHarness(shared_database_url, inventory=inventory, payments=payments)  # tables apart
        try:
            answers = []
            checkout = threading.Thread(target=lambda: answers.append(orders.order(order_body((mug.id, 4)))))
            checkout.start()
            assert payments.asked.wait(10)
            [order] = orders.rows()
            for _ in range(WAIT_RUNS):
                if status(products.client, order.saga_id) != "held" or not loop.wait_for_runs(loop.runs + 1, 10):
                    break
            assert status(products.client, order.saga_id) == "released" and products.stock(mug.id) == 10
            payments.gate.set()  # the charge completes now; the commit that follows is refused
            checkout.join(20)

            [response] = answers
            assert response.status_code == 502
            assert (orders.row(order.id).status, products.stock(mug.id)) == ("failed", 10)
            assert [p.status for p in payments.payments.values()] == ["refunded"]
        finally:
            payments.gate.set()
            orders.close()

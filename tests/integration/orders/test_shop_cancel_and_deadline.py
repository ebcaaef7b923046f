"""A cancel whose steps fail, and a saga slower than its caller's deadline, on the running shop: every service a
real gunicorn process, faults set on products at run time (``/admin/faults``), the customer's view through the
gateway, money and stock read at payments and products.

The gateway gives ``POST /api/v1/orders`` a budget of 2 s (``ORDER_BUDGET_SECONDS``); a commit delayed 2.6 s
is slower than that, and faster than orders' own 4 s read timeout. Orders sweeps every 0.5 s and takes orders
untouched for 14 s: longer than the 3 calls of 0.5 + 4 s a live request may make between two saves, so the sweep
never takes an order a request is still working on.

The shop runs on PostgreSQL only: starting and stopping five processes costs half a minute, and the same rules
run on SQLite and PostgreSQL alike in-process (``test_orders_api.py``, ``tests/unit/orders``).
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.support.auth import as_admin
from tests.support.otlp import OtlpReceiver
from tests.support.shop import bearer, running_shop

COMMIT = "POST /reservations/{reservation_id}/commit"
RETURN = "POST /reservations/{reservation_id}/return"
ENV = {
    "gateway": {"ORDER_BUDGET_SECONDS": "2"},
    "orders": {
        "RECOVERY_GRACE_SECONDS": "14",
        "RECOVERY_INTERVAL_SECONDS": "0.5",
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.5",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "4",
    },
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    receiver = OtlpReceiver().start()
    try:
        with running_shop("postgres", tmp_path_factory.mktemp("deadline"), receiver, ENV) as running:
            yield running
    finally:
        receiver.stop()


@pytest.fixture
def products_faults(shop):
    """Set rules on products' incoming routes; cleared after the test."""
    url = shop.services["products"].url + "/admin/faults"

    def set_faults(*rules: dict) -> None:
        assert requests.put(url, json={"faults": list(rules)}, headers=as_admin(1), timeout=5).status_code == 200

    yield set_faults
    requests.delete(url, headers=as_admin(1), timeout=5)


@pytest.fixture
def customer(shop):
    product = shop.create_product(stock=5)
    _, token = shop.register()
    return product, token


def eventually(check, what: str, timeout: float = 20.0):
    """``check()`` once it is truthy, polled; fails naming ``what`` when it never is within ``timeout``."""
    give_up = time.monotonic() + timeout
    while (found := check()) is None or found is False:
        assert time.monotonic() < give_up, f"never {what}"
        time.sleep(0.1)  # polling interval, not a wait for the outcome
    return found


def order_of(shop, token, order_id) -> dict:
    return shop.http.get(shop.url(f"/orders/{order_id}"), headers=bearer(token), timeout=10).json()


def payment_of(shop, saga_id) -> dict | None:
    url = shop.services["payments"].url + "/payments"
    items = requests.get(url, params={"saga_id": saga_id}, headers=as_admin(1), timeout=10).json()["items"]
    return items[0] if items else None


def late_commit_answered(shop, saga_id) -> int | None:
    """The status products answered the commit of ``saga_id`` with, once it has."""
    path = f"/reservations/{saga_id}/commit"
    return next((r["status"] for r in shop.logs("products") if r.get("event") == "http.access" and r["path"] == path),
                None)  # fmt: skip


def orders_of(shop, token) -> list[dict]:
    return shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]


def test_the_cancel_whose_stock_return_fails_ends_cancelled_with_money_refunded_and_stock_back_after_recovery(
    shop, customer, products_faults
):
    product, token = customer
    placed = shop.order(token, [{"product_id": product["id"], "quantity": 2}])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    products_faults({"target": RETURN, "fault": "error", "status": 503})

    cancel = shop.http.post(shop.url(f"/orders/{order['id']}/cancel"), headers=bearer(token), timeout=30)

    assert cancel.status_code == 202 and cancel.json()["status"] == "cancelling"  # accepted, not finished
    assert order_of(shop, token, order["id"])["status"] == "cancelling"
    assert payment_of(shop, order["saga_id"])["status"] == "refunded" and shop.product(product["id"])["stock"] == 3

    products_faults()  # products heals; the sweep finishes the cancel by itself
    eventually(lambda: order_of(shop, token, order["id"])["status"] == "cancelled", "cancelled", timeout=40)
    assert payment_of(shop, order["saga_id"])["status"] == "refunded"
    assert shop.product(product["id"])["stock"] == 5


def test_a_saga_slower_than_the_gateways_deadline_answers_5xx_and_the_order_ends_failed_holding_nothing(
    shop, customer, products_faults
):
    product, token = customer
    products_faults({"target": COMMIT, "fault": "latency", "delay_seconds": 2.6})

    placed = shop.order(token, [{"product_id": product["id"], "quantity": 2}])

    assert placed.status_code in (502, 503, 504), placed.text
    (order,) = orders_of(shop, token)
    order = eventually(lambda: (o := order_of(shop, token, order["id"]))["status"] == "failed" and o, "failed")
    payment = payment_of(shop, order["saga_id"])
    assert payment is None or payment["status"] in ("refunded", "voided")  # no charge stuck
    assert eventually(lambda: late_commit_answered(shop, order["saga_id"]), "the late commit answered") == 409
    assert order_of(shop, token, order["id"])["status"] == "failed"
    assert shop.product(product["id"])["stock"] == 5


def test_a_keyed_saga_slower_than_the_gateways_deadline_answers_5xx_and_a_replay_returns_the_orders_final_state(
    shop, customer, products_faults
):
    product, token = customer
    products_faults({"target": COMMIT, "fault": "latency", "delay_seconds": 2.6})
    key = {"Idempotency-Key": f"slow-{uuid.uuid4().hex}"}
    line = [{"product_id": product["id"], "quantity": 2}]

    placed = shop.order(token, line, **key)
    products_faults()

    assert placed.status_code in (502, 503, 504), placed.text
    replay = eventually(lambda: (r := shop.order(token, line, **key)).status_code != 409 and r, "answered")
    (order,) = orders_of(shop, token)
    assert replay.status_code == 201 and replay.json() == order_of(shop, token, order["id"])
    assert order["status"] == "confirmed"
    assert payment_of(shop, order["saga_id"])["status"] == "completed" and shop.product(product["id"])["stock"] == 3

"""Nothing stays ``processing``: payments SIGKILLed while its charge is at the card network.

Payments runs as a real gunicorn process whose card network never answers (``tests.support.stalling_payments``):
it either recorded the approval before it stopped answering (the card was captured, the answer lost) or never saw
the request. Orders runs in the test with its real payments client. The process is killed with the charge at the
network, then the real payments app is started again on the same database: its reconciler asks the network what
happened under the saga's key and settles the payment, a keyed replay answers it, and orders' recovery ends the
order ``failed`` with no money kept and its stock back.
"""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
import requests
from flask import Flask
from prometheus_client import CollectorRegistry

import telemetry
from services.orders.clients import PaymentsClient
from telemetry.http import Client
from tests.support.auth import ORDERS
from tests.support.databases import database
from tests.support.orders import OrdersHarness
from tests.support.payments import SHOPPER, charge_body
from tests.support.procs import Service

ENV = {
    "JWT_SECRET": "payments-integration-tests-secret-0123456789",
    "TIENDA_ENV": "test",
    "OTEL_TRACES_EXPORTER": "none",
    "LOG_LEVEL": "INFO",
    "RECONCILE_AFTER_SECONDS": "1",
    "RECONCILE_INTERVAL_SECONDS": "0.2",
}
WAIT_SECONDS = 30


def wait_for(what, check):
    """Poll ``check`` until it answers something true (at most :data:`WAIT_SECONDS`); its answer."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.05)  # polling interval, not a wait for the outcome
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS}s")


def events(service: Service, name: str) -> list[dict]:
    found = []
    for line in service.log_lines():
        if line.startswith("{") and json.loads(line).get("event") == name:
            found.append(json.loads(line))
    return found


def payment_of(service: Service, saga_id: str) -> dict | None:
    answer = requests.get(f"{service.url}/payments", params={"saga_id": saga_id}, headers=SHOPPER, timeout=5).json()
    return answer["items"][0] if answer["items"] else None


def settled(service: Service, saga_id: str) -> dict | None:
    payment = payment_of(service, saga_id)
    return payment if payment is not None and payment["status"] != "processing" else None


@pytest.mark.parametrize(
    ("kind", "captured", "settles_as", "replay"),
    [("sqlite", True, "completed", 200), ("postgres", False, "voided", 409)],
    ids=["captured-and-the-answer-lost-sqlite", "never-reached-the-network-postgres"],
)  # one backend per outcome (two gunicorn starts cost ~10 s a case); test_provider_ledger runs the reconciler on both
def test_a_payment_left_processing_by_a_killed_payments_process_is_reconciled_and_its_order_recovers(
    tmp_path, kind, captured, settles_as, replay
):
    with (
        database(kind, tmp_path, "orders") as orders_database,
        database(kind, tmp_path, "payments") as payments_database,
    ):
        _kill_reconcile_recover(tmp_path, orders_database, payments_database, captured, settles_as, replay)


def _kill_reconcile_recover(tmp_path, database_url, payments_database, captured, settles_as, replay):
    env = {**ENV, "DATABASE_URL": payments_database, "STALL_AFTER_RECORDING": "1" if captured else "0"}
    payments = Service("tests.support.stalling_payments:create_app()", env=env, log_path=tmp_path / "payments-1.log")
    tel = telemetry.instrument(
        Flask("orders-reconcile"), service_name="orders", registry=CollectorRegistry(), log_stream=io.StringIO()
    )
    http = Client(payments.url, telemetry=tel, name="payments", read_timeout_seconds=60)
    orders = OrdersHarness(database_url, payments=PaymentsClient(http, ORDERS.tokens), recovery_grace_seconds=0)
    restarted = None
    try:
        answers = []
        checkout = threading.Thread(target=lambda: answers.append(orders.order()))
        checkout.start()
        wait_for("the charge reaching the card network", lambda: events(payments, "test.provider_stalled"))
        payments.kill()  # SIGKILL between the payment's insert and its settle
        checkout.join(WAIT_SECONDS)
        [response] = answers
        (order,) = orders.rows()
        assert response.status_code == 502 and order.status == "compensating"  # the void could not reach payments

        restarted = Service(
            "services.payments.app:create_app()", env={**ENV, "DATABASE_URL": payments_database},
            log_path=tmp_path / "payments-2.log", port=payments.port,
        )  # fmt: skip
        payment = wait_for("the reconciler settling the payment", lambda: settled(restarted, order.saga_id))
        assert (payment["status"], payment["amount_cents"]) == (settles_as, order.total_cents)
        [reconciled] = events(restarted, "payment.reconciled")
        assert (reconciled["outcome"], reconciled["saga_id"]) == (settles_as, order.saga_id)

        again = requests.post(
            f"{restarted.url}/payments",
            json=charge_body(order.id, order.total_cents, saga_id=order.saga_id),
            headers=ORDERS,
            timeout=10,
        )
        assert again.status_code == replay  # no longer 409 payment_in_progress
        if captured:
            assert again.json()["id"] == payment["id"] and again.json()["status"] == "completed"
        else:
            assert again.json()["error"]["code"] == "payment_voided"

        orders.service.recover_unfinished()
        assert orders.row(order.id).status == "failed"
        assert payment_of(restarted, order.saga_id)["status"] == ("refunded" if captured else "voided")
        assert orders.inventory.stock(1) == 10
    finally:
        http.close()  # no idle keep-alive connection holds up the graceful stop
        orders.close()
        payments.stop()
        if restarted is not None:
            restarted.stop()

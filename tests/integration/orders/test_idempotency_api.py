"""Idempotency-Key over HTTP and a real database: replays, reuse, and requests racing on one key."""

import threading
from concurrent.futures import ThreadPoolExecutor

from services.orders.domain import Reservation
from tests.support.fakes.orders import DECLINE, FakeInventory
from tests.support.orders import OTHER_USER, USER, order_body


def test_a_replay_answers_the_same_201_body_and_charges_once_and_a_different_body_is_422(orders):
    first = orders.order(order_body((1, 2)), key="checkout-1")
    second = orders.order(order_body((1, 2)), key="checkout-1")

    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert orders.payments.charges == 1 and orders.count() == 1 and orders.inventory.stock(1) == 8
    (row,) = orders.rows()
    assert row.idempotency_key == "checkout-1" and len(row.request_fingerprint) == 64

    other_user = orders.order(order_body((1, 2)), key="checkout-1", headers=OTHER_USER)
    assert other_user.status_code == 201 and other_user.get_json()["id"] != first.get_json()["id"]
    calls = list(orders.journal)
    for body in (order_body((1, 3)), order_body((1, 2), cvc="999")):
        response = orders.order(body, key="checkout-1")
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert orders.journal == calls and orders.count() == 2


def test_a_replayed_failure_answers_the_same_4xx_with_its_own_request_id(orders):
    first = orders.order(order_body((1, 1), card=DECLINE), key="k")
    calls = list(orders.journal)

    second = orders.order(order_body((1, 1), card=DECLINE), key="k")

    assert first.status_code == second.status_code == 402
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    one, two = first.get_json()["error"], second.get_json()["error"]
    assert (one["code"], one["message"]) == (two["code"], two["message"]) == ("card_declined", one["message"])
    assert two["request_id"] == second.headers["X-Request-ID"] != one["request_id"]
    assert orders.journal == calls and orders.count() == 1


class GatedInventory(FakeInventory):
    """Holds every reservation at a gate until the test opens it."""

    def __init__(self, journal=None):
        super().__init__(journal)
        self.waiting = threading.Event()
        self.gate = threading.Event()

    def reserve(self, reservation_id, lines) -> Reservation:
        self.waiting.set()
        assert self.gate.wait(20), "the test never opened the gate"
        return super().reserve(reservation_id, lines)


def test_the_same_key_while_the_first_request_is_still_running_is_409_in_progress(make_orders):
    inventory = GatedInventory()
    orders = make_orders(inventory=inventory)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(lambda: orders.app.test_client().post("/orders", json=order_body(), headers={
            **USER, "Idempotency-Key": "k"}))  # fmt: skip
        assert inventory.waiting.wait(20)

        second = orders.order(order_body(), key="k")

        inventory.gate.set()
        assert first.result(timeout=20).status_code == 201
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "idempotency_key_in_progress"
    assert orders.order(order_body(), key="k").status_code == 201
    assert orders.payments.charges == 1 and orders.count() == 1


def test_concurrent_requests_with_one_key_run_the_saga_once(orders):
    start = threading.Barrier(6)

    def post(_):
        client = orders.app.test_client()
        start.wait(10)
        return client.post("/orders", json=order_body((1, 1)), headers={**USER, "Idempotency-Key": "race"})

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, range(6)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert all(
        r.get_json()["error"]["code"] == "idempotency_key_in_progress" for r in responses if r.status_code == 409
    )
    assert len({r.get_json()["id"] for r in responses if r.status_code == 201}) == 1
    assert orders.count() == 1 and orders.payments.charges == 1 and orders.inventory.stock(1) == 9

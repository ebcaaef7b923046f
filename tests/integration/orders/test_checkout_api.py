"""POST /orders over a real database (SQLite and PostgreSQL): the answer, the rows, the stock, the charge."""

from services.common.web import wiring
from tests.support.fakes.orders import BAD_LUHN, DECLINE, NO_FUNDS, timed_out, unavailable
from tests.support.orders import USER, order_body


def listed(orders) -> list[dict]:
    return orders.client.get("/orders", headers=USER).get_json()["items"]


def test_a_confirmed_order_answers_201_with_the_order_and_stores_it_with_its_items(orders):
    response = orders.order(order_body((1, 2), (2, 1)))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed" and body["user_id"] == 7 and body["failure_reason"] is None
    assert body["items"] == [
        {"product_id": 1, "name": "Espresso cup", "quantity": 2, "unit_price_cents": 1250},
        {"product_id": 2, "name": "Milk jug", "quantity": 1, "unit_price_cents": 2999},
    ]
    assert body["total_cents"] == 5499 and body["currency"] == "EUR"
    assert body["payment_id"] == orders.payments.for_order(body["id"]).id
    assert response.headers["X-Request-ID"]
    (row,) = orders.rows()
    assert (row.id, row.status, row.total_cents, row.payment_id) == (body["id"], "confirmed", 5499, body["payment_id"])
    assert row.idempotency_key is None and row.outcome_status == 201
    assert [(i.product_id, i.quantity, i.name, i.unit_price_cents) for i in orders.item_rows()] == [
        (1, 2, "Espresso cup", 1250),
        (2, 1, "Milk jug", 2999),
    ]
    assert orders.inventory.stock(1) == 8 and orders.inventory.stock(2) == 4
    assert orders.client.get(f"/orders/{body['id']}", headers=USER).get_json() == body


def test_an_order_beyond_the_stock_answers_409_with_the_shortfall_and_is_listed_as_failed(orders):
    response = orders.order(order_body((1, 1), (3, 2)))

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [{"product_id": 3, "requested": 2, "available": 1}]
    assert error["request_id"] == response.headers["X-Request-ID"]
    (row,) = orders.rows()
    assert row.status == "failed" and row.failure_reason == "out_of_stock"
    (order,) = listed(orders)
    assert order["status"] == "failed" and order["failure_reason"] == "out_of_stock"
    assert order["items"] == [
        {"product_id": 1, "name": None, "quantity": 1, "unit_price_cents": None},
        {"product_id": 3, "name": None, "quantity": 2, "unit_price_cents": None},
    ]
    assert orders.inventory.stock(1) == 10 and orders.inventory.stock(3) == 1
    assert orders.journal.calls() == [("products", "reserve")]


def test_a_declined_card_answers_402_with_the_decline_code_and_holds_no_stock(orders):
    for card, code in [(DECLINE, "card_declined"), (NO_FUNDS, "insufficient_funds")]:
        response = orders.order(order_body((2, 3), card=card))

        assert response.status_code == 402 and response.get_json()["error"]["code"] == code
        row = orders.rows()[-1]
        assert row.status == "failed" and row.failure_reason == code
        assert orders.inventory.stock(2) == 5
        order = listed(orders)[0]
        assert order["id"] == row.id and order["failure_reason"] == code and order["total_cents"] == 3 * 2999
    assert orders.sample("tienda_orders_total", {"outcome": "declined"}) == 2


def test_a_card_payments_would_refuse_is_rejected_before_any_order_or_call(orders):
    response = orders.order(order_body((1, 1), card=BAD_LUHN))

    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_card"
    assert response.get_json()["error"]["details"] == [
        {"field": "payment.card_number", "message": "The card number is not valid."}
    ]
    assert orders.journal.calls() == [] and orders.count() == 0
    assert orders.inventory.stock(1) == 10 and orders.payments.charges == 0


def test_an_order_for_an_unknown_product_answers_422_and_is_never_listed(orders):
    response = orders.order(order_body((1, 1), (99_999_999, 1)))

    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_product"
    assert [what for _, what in orders.journal.calls()] == ["reserve"]
    row = orders.rows()[-1]
    assert row.status == "failed" and row.failure_reason == "unknown_product"
    assert orders.client.get(f"/orders/{row.id}", headers=USER).status_code == 404
    assert listed(orders) == []
    assert orders.inventory.stock(1) == 10 and orders.payments.charges == 0


def test_an_upstream_failure_answers_503_or_504_and_leaves_nothing_held_or_charged(orders):
    cases = [
        # (fake, operation, error, whether it took effect before failing, status, code)
        (orders.payments, "charge", unavailable("payments"), False, 503, "upstream_unavailable"),
        (orders.payments, "charge", timed_out("payments"), True, 504, "upstream_timeout"),
        (orders.inventory, "reserve", timed_out("products"), True, 504, "upstream_timeout"),
        (orders.inventory, "commit", unavailable("products"), False, 503, "upstream_unavailable"),
    ]
    for fake, operation, error, after, status, code in cases:
        fake.fail(operation, error, after=after, times=1)

        response = orders.order(order_body((1, 2)))

        assert response.status_code == status, (operation, error)
        assert response.get_json()["error"]["code"] == code
        row = orders.rows()[-1]
        assert row.status == "failed" and row.failure_reason == f"{error.upstream}_unavailable"
        assert orders.inventory.stock(1) == 10, (operation, error)
        assert orders.payments.status(row.id) in (None, "refunded")
    assert orders.sample("tienda_orders_total", {"outcome": "failed"}) == 4
    assert orders.sample("tienda_saga_compensations_total", {"step": "refund"}) == 2


def test_a_failed_compensation_leaves_the_order_compensating_until_the_recovery_sweep_finishes_it(make_orders):
    orders = make_orders(recovery_grace_seconds=0)
    orders.inventory.fail("commit", unavailable("products"), times=1)
    orders.payments.fail("void", unavailable("payments"), times=1)

    response = orders.order(order_body((1, 1)), key="k-1")

    assert response.status_code == 503
    (row,) = orders.rows()
    assert row.status == "compensating" and orders.payments.status(row.id) == "completed"

    recovered = orders.service.recover_unfinished()

    assert [o.id for o in recovered] == [row.id]
    row = orders.row(row.id)
    assert row.status == "failed" and row.failure_reason == "products_unavailable"
    assert orders.payments.status(row.id) == "refunded" and orders.inventory.stock(1) == 10
    replay = orders.order(order_body((1, 1)), key="k-1")
    assert (
        replay.status_code == 503 and replay.get_json()["error"]["message"] == response.get_json()["error"]["message"]
    )


class Crash(Exception):
    """The process died here."""


def test_an_order_interrupted_after_the_charge_is_refunded_released_and_failed_by_recovery(make_orders):
    orders = make_orders(recovery_grace_seconds=0)
    orders.payments.fail("charge", Crash("worker killed"), after=True, times=1)

    response = orders.order(order_body((2, 2)), key="k-2")

    assert response.status_code == 500
    (row,) = orders.rows()
    assert row.status == "reserved" and orders.inventory.stock(2) == 3
    assert orders.order(order_body((2, 2)), key="k-2").status_code == 409  # still in progress

    orders.service.recover_unfinished()

    row = orders.row(row.id)
    assert row.status == "failed" and row.failure_reason == "interrupted"
    assert orders.payments.status(row.id) == "refunded" and orders.inventory.stock(2) == 5
    replay = orders.order(order_body((2, 2)), key="k-2")
    assert replay.status_code == 503 and replay.get_json()["error"]["code"] == "order_interrupted"
    assert orders.service.recover_unfinished() == []


def test_an_order_whose_commit_went_through_before_the_crash_is_confirmed_by_recovery(make_orders):
    orders = make_orders(recovery_grace_seconds=0)
    orders.inventory.fail("commit", Crash("worker killed"), after=True, times=1)
    assert orders.order(order_body((1, 2))).status_code == 500

    orders.service.recover_unfinished()

    (row,) = orders.rows()
    assert row.status == "confirmed" and row.outcome_status == 201
    assert orders.payments.status(row.id) == "completed" and orders.inventory.stock(1) == 8
    assert orders.sample("tienda_orders_total", {"outcome": "confirmed"}) == 1


def test_the_recovery_thread_sweeps_at_start_without_waiting_for_the_interval(make_orders):
    first = make_orders()
    first.payments.fail("charge", Crash("worker killed"), after=True, times=1)
    assert first.order(order_body((1, 1))).status_code == 500
    (row,) = first.rows()
    assert row.status == "reserved"

    second = make_orders(
        inventory=first.inventory, payments=first.payments, recovery_interval_seconds=3600, recovery_grace_seconds=0
    )
    loop = wiring(second.app).loops[0]

    assert loop.wait_for_runs(1, timeout_seconds=20)
    row = second.row(row.id)
    assert row.status == "failed" and row.failure_reason == "interrupted"
    assert first.payments.status(row.id) == "refunded" and first.inventory.stock(1) == 10
    assert second.events("order.failed")[-1]["order_id"] == row.id
    loop.stop()
    assert loop.runs == 1

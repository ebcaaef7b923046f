"""The keys orders uses at products and payments are random saga ids, never database ids."""

import re
from contextlib import ExitStack

import pytest

from tests.support.databases import database
from tests.support.orders import USER, OrdersHarness, order_body


@pytest.fixture
def reset_orders_database(tmp_path):
    """Start orders again on a second, empty database of the same kind, keeping products and payments: the
    orders database reset alone."""
    with ExitStack() as stack:

        def reset(first: OrdersHarness) -> OrdersHarness:
            kind = "postgres" if first.db.engine.dialect.name == "postgresql" else "sqlite"
            url = stack.enter_context(database(kind, tmp_path, "orders_reset"))
            harness = OrdersHarness(url, inventory=first.inventory, payments=first.payments)
            stack.callback(harness.close)
            return harness

        yield reset


def test_every_order_gets_a_random_saga_id_that_is_its_reservation_id_and_its_charges_key(orders):
    first = orders.order(order_body((1, 1))).get_json()
    second = orders.order(order_body((2, 1))).get_json()

    rows = {row.id: row for row in orders.rows()}
    sagas = [rows[first["id"]].saga_id, rows[second["id"]].saga_id]
    assert all(re.fullmatch(r"[0-9a-f]{32}", saga) for saga in sagas) and sagas[0] != sagas[1]
    assert [orders.inventory.status(saga) for saga in sagas] == ["committed", "committed"]
    assert [orders.payments.payments[saga].id for saga in sagas] == [first["payment_id"], second["payment_id"]]


def test_after_the_orders_database_is_reset_alone_a_new_order_reusing_an_old_id_gets_its_own_charge_and_stock(
    orders, reset_orders_database
):
    old = orders.order(order_body((1, 1))).get_json()
    assert old["status"] == "confirmed"

    reset = reset_orders_database(orders)
    new_response = reset.order(order_body((1, 2)))
    new = new_response.get_json()

    assert new_response.status_code == 201 and new["id"] == old["id"]  # the id is reused
    assert new["payment_id"] != old["payment_id"] and new["total_cents"] == 2 * 1250
    assert orders.payments.charges == 2  # the new order's card was charged, not answered with the old charge
    assert orders.inventory.stock(1) == 10 - 1 - 2  # both orders' stock is taken, once each

    cancelled = reset.client.post(f"/orders/{new['id']}/cancel", headers=USER)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    (old_row,) = orders.rows()
    statuses = {p.id: p.status for p in orders.payments.payments.values()}
    assert statuses == {old["payment_id"]: "completed", new["payment_id"]: "refunded"}
    assert orders.inventory.status(old_row.saga_id) == "committed"  # the old order keeps its stock
    assert orders.inventory.stock(1) == 10 - 1

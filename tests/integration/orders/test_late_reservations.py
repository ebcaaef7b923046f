"""A late reservation: products holds the stock after orders gave up on the reservation, and it cannot keep it.

Orders runs with its real products client against a real products app served over HTTP, on the test's database
(the two services' tables and migration histories are apart). The create, ``POST /reservations``, is held
before it reaches products, longer than orders waits for it.
"""

from __future__ import annotations

import pytest

from services.common.web import wiring
from services.orders.clients import ProductsClient
from services.products.app import create_app as create_products_app
from services.products.domain import NewProduct
from telemetry.http import Client
from tests.support.auth import ORDERS
from tests.support.captured import instrumented
from tests.support.orders import OrdersHarness, order_body, served_holding


@pytest.fixture
def products_server(database_url):
    app = create_products_app({"database_url": database_url, "reservation_sweep_interval_seconds": 0})
    with served_holding(app, "POST", "/reservations") as (url, held):
        yield url, held, app


@pytest.fixture
def orders_on_real_products(database_url, products_server):
    client = ProductsClient(
        Client(products_server[0], telemetry=instrumented("orders"), name="products", read_timeout_seconds=0.5),
        ORDERS.tokens,
    )
    harness = OrdersHarness(database_url, inventory=client, recovery_grace_seconds=0)
    yield harness
    harness.close()


def test_a_reservation_that_reaches_products_after_orders_gave_up_is_refused_and_takes_no_stock(
    orders_on_real_products, products_server
):
    orders = orders_on_real_products
    _, held, products_app = products_server
    service = wiring(products_app).service
    product = service.create_product(NewProduct("LATE-1", "Late cup", 1250, stock=10))

    response = orders.order(order_body((product.id, 3)))
    assert response.status_code == 504 and held.arrived.is_set()
    (row,) = orders.rows()
    assert (row.status, row.failure_reason) == ("failed", "products_unavailable")
    assert service.get_reservation(row.saga_id).status == "released"  # the release's tombstone

    held.gate.set()  # the late create arrives now
    assert held.answered.wait(10)

    assert held.statuses == ["409 CONFLICT"]
    assert service.get_product(product.id).stock == 10  # the late create took no stock
    reservation = service.get_reservation(row.saga_id)
    assert (reservation.status, reservation.items) == ("released", ())
    assert orders.payments.charges == 0

"""GET /audit/stock on PostgreSQL reads its two queries in one snapshot: a reservation committed between them
cannot make the audit see its stock gone but not yet held (a stock_conserved violation that is not one).

SQLite needs no test of its own here: every transaction there, this read included, holds the one writer lock
(``BEGIN IMMEDIATE``, services/common/db.py), so nothing commits between its queries."""

import threading

import pytest
from sqlalchemy import event

from tests.support.auth import AUDIT
from tests.support.databases import database
from tests.support.products import ProductsHarness


@pytest.fixture
def products(tmp_path):
    with database("postgres", tmp_path) as url:
        harness = ProductsHarness(url)
        yield harness
        harness.close()


def test_a_reservation_committed_between_the_audit_reads_of_quantities_and_stock_is_seen_by_neither(products):
    mug = products.add_product("MUG", stock=10)
    engine = products.products.database.engine
    landed: list[int] = []

    def reserve_meanwhile(conn, cursor, statement, parameters, context, executemany):
        if landed or "reservation_items" not in statement or "sum(" not in statement.lower():
            return
        body = {"reservation_id": "meanwhile", "items": [{"product_id": mug.id, "quantity": 4}]}
        thread = threading.Thread(
            target=lambda: landed.append(products.client.post("/reservations", json=body).status_code)
        )
        thread.start()
        thread.join(timeout=30)

    event.listen(engine, "after_cursor_execute", reserve_meanwhile)
    try:
        response = products.client.get("/audit/stock", headers=AUDIT)
    finally:
        event.remove(engine, "after_cursor_execute", reserve_meanwhile)

    assert landed == [201]  # the reservation did commit while the audit was reading
    (stock,) = response.get_json()["products"]
    assert (stock["stock"], stock["held"]) == (10, 0)  # the snapshot from before it, whole
    assert stock["stock"] + stock["held"] + stock["committed"] == stock["initial_stock"] + stock["restocked"]
    (after,) = products.client.get("/audit/stock", headers=AUDIT).get_json()["products"]
    assert (after["stock"], after["held"]) == (6, 4)

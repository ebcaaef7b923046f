"""The integrity audit over the running shop: every cent and every unit of stock accounted for.

Orders are placed, declined and cancelled through the gateway; then the audit reads orders, payments and
products over their ``GET /audit/...`` endpoints and checks its invariants.
"""

import functools
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from services.audit.clients import HttpStateSource
from services.audit.domain import audit as audit_shop
from services.common.contract import DEFAULT_AUDIT_PAGE_SIZE
from telemetry.http import Client
from tests.support.audit import declined_charge_turned_completed
from tests.support.auth import AUDIT
from tests.support.captured import instrumented
from tests.support.shop import DECLINE, bearer

BOUND_SECONDS = 60.0
SERVICES = ("orders", "payments", "products")


@pytest.fixture
def audit(shop):
    tel = instrumented("audit")
    clients = {name: Client(shop.services[name].url, telemetry=tel, name=name) for name in SERVICES}
    source = HttpStateSource(**clients, tokens=AUDIT.tokens)

    def run(page_size: int = DEFAULT_AUDIT_PAGE_SIZE):
        now = functools.partial(datetime.now, UTC)
        violations, _ = audit_shop(source, now=now, bound_seconds=BOUND_SECONDS, page_size=page_size)
        return violations

    yield run
    source.close()


def test_after_orders_are_placed_declined_and_cancelled_the_audit_finds_no_violation(shop, audit):
    product = shop.create_product(stock=6, price_cents=1500)
    _, token = shop.register("Audrey")
    line = [{"product_id": product["id"], "quantity": 2}]

    kept = shop.order(token, line)
    cancelled = shop.order(token, line)
    declined = shop.order(token, line, card=DECLINE)
    assert (kept.status_code, cancelled.status_code, declined.status_code) == (201, 201, 402)
    cancel = shop.http.post(shop.url(f"/orders/{cancelled.json()['id']}/cancel"), headers=bearer(token), timeout=30)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert shop.product(product["id"])["stock"] == 4

    assert audit() == []


def _saga_of(shop, order_id: int) -> str:
    orders_db = create_engine(shop.databases["orders"])
    with orders_db.connect() as connection:
        saga_id = connection.execute(text("SELECT saga_id FROM orders WHERE id = :id"), {"id": order_id}).scalar()
    orders_db.dispose()
    return str(saga_id)


def test_a_completed_charge_for_a_failed_order_written_straight_into_payments_is_reported(shop, audit):
    product = shop.create_product(stock=3)
    _, token = shop.register("Mallory")
    declined = shop.order(token, [{"product_id": product["id"], "quantity": 1}], card=DECLINE)
    assert declined.status_code == 402
    (failed,) = shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]
    saga_id = _saga_of(shop, failed["id"])
    with declined_charge_turned_completed(shop.databases["payments"], saga_id):
        violations = audit()
        assert [(v.invariant, v.subject, v.message) for v in violations] == [
            ("charge_has_confirmed_order", f"saga {saga_id}", f"a completed charge, but order {failed['id']} is failed")
        ]
    assert audit() == []  # put back as it was: the shop is consistent again


def test_read_a_page_of_one_row_at_a_time_the_audit_still_finds_a_broken_charge_among_kept_and_cancelled_orders(
    shop, audit
):
    product = shop.create_product(stock=10)
    _, token = shop.register("Paige")
    line = [{"product_id": product["id"], "quantity": 1}]
    kept = [shop.order(token, line) for _ in range(3)]
    declined = shop.order(token, line, card=DECLINE)
    assert [o.status_code for o in kept] + [declined.status_code] == [201, 201, 201, 402]
    cancel = shop.http.post(shop.url(f"/orders/{kept[0].json()['id']}/cancel"), headers=bearer(token), timeout=30)
    assert cancel.status_code == 200
    assert audit(page_size=1) == []
    failed = next(o for o in shop.http.get(shop.url("/orders"), headers=bearer(token), timeout=10).json()["items"]
                  if o["status"] == "failed")  # fmt: skip
    saga_id = _saga_of(shop, failed["id"])
    with declined_charge_turned_completed(shop.databases["payments"], saga_id):
        assert [(v.invariant, v.subject) for v in audit(page_size=1)] == [
            ("charge_has_confirmed_order", f"saga {saga_id}")
        ]

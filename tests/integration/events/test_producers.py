"""orders and payments record their events in the transaction of the state change, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Table

from services.common.db import Database, migrate
from services.common.events import Outbox
from services.orders.domain import CANCELLED, CANCELLING
from services.orders.store import OUTBOX as ORDERS_OUTBOX
from services.orders.store import SqlOrderRepository
from services.payments.app import MIGRATIONS as PAYMENTS_MIGRATIONS
from services.payments.domain import COMPLETED, NewPayment
from services.payments.store import OUTBOX as PAYMENTS_OUTBOX
from services.payments.store import SqlPaymentRepository
from tests.support.orders import USER, OrdersHarness, order_body
from tests.support.payments import DECLINES


class DiesBeforeCommit(Outbox):
    """Writes the event, then fails as a process killed between the change and the commit would."""

    def add(self, connection: Connection, event_type: str, aggregate_id: str | int, data: dict):
        super().add(connection, event_type, aggregate_id, data)
        raise RuntimeError("killed before the commit")


@pytest.fixture
def orders(database_url):
    harness = OrdersHarness(database_url)
    yield harness
    harness.close()


def events(db: Database, table: Table) -> list[tuple[str, str, int, dict]]:
    """(type, aggregate id, version, data) of every event waiting in the outbox ``table``, oldest first."""
    with db.engine.connect() as connection:
        return [(p.event.type, p.event.aggregate_id, p.event.version, p.event.data)
                for p in Outbox(table).pending(connection, 100)]  # fmt: skip


def test_a_confirmed_order_records_order_confirmed_with_its_customer_total_and_saga(orders):
    body = orders.order(order_body((1, 2))).get_json()

    assert events(orders.db, ORDERS_OUTBOX) == [
        ("order.confirmed", str(body["id"]), 1, {"order_id": body["id"], "user_id": 7, "total_cents": 2500,
                                                  "currency": "EUR", "saga_id": body["saga_id"]}),
    ]  # fmt: skip


def test_a_declined_order_records_order_failed_with_its_reason_and_a_cancel_order_cancelled_after_it(orders):
    declined = orders.order(order_body((1, 1), card=DECLINES)).get_json()["error"]
    confirmed = orders.order(order_body((2, 1))).get_json()
    assert orders.client.post(f"/orders/{confirmed['id']}/cancel", headers=USER).status_code == 200

    recorded = events(orders.db, ORDERS_OUTBOX)
    assert [(t, v) for t, _, v, _ in recorded] == [("order.failed", 1), ("order.confirmed", 1), ("order.cancelled", 2)]
    assert recorded[0][3]["reason"] == declined["code"] == "card_declined"
    assert recorded[2][1] == str(confirmed["id"]) and "reason" not in recorded[2][3]


def test_an_order_rejected_as_invalid_input_records_no_event(orders):
    response = orders.order(order_body((999, 1)))

    assert response.status_code == 422
    assert orders.rows()[0].failure_reason == "unknown_product"
    assert events(orders.db, ORDERS_OUTBOX) == []


def test_an_order_saved_again_in_the_same_status_records_no_second_event(orders):
    order_id = orders.order(order_body((1, 1))).get_json()["id"]
    repository = SqlOrderRepository(orders.db)
    order = repository.get(order_id)
    assert order is not None
    repository.save(order)  # as a recovery sweep claims an order, or a stale copy is saved again
    repository.save(order)

    assert orders.row(order_id).version == order.version
    assert [(t, v) for t, _, v, _ in events(orders.db, ORDERS_OUTBOX)] == [("order.confirmed", 1)]


def test_a_failure_between_an_orders_change_and_its_event_leaves_neither(orders):
    order_id = orders.order(order_body((1, 1))).get_json()["id"]
    repository = SqlOrderRepository(orders.db)
    order = repository.get(order_id)
    assert order is not None
    order.move_to(CANCELLING)
    repository.save(order)
    order.move_to(CANCELLED)

    with pytest.raises(RuntimeError, match="killed before the commit"):
        SqlOrderRepository(orders.db, DiesBeforeCommit(ORDERS_OUTBOX)).save(order)

    assert orders.row(order_id).status == CANCELLING
    assert [t for t, *_ in events(orders.db, ORDERS_OUTBOX)] == ["order.confirmed"]


@pytest.fixture
def payments_db(database_url):
    db = Database(database_url)
    migrate(db.engine, "payments", PAYMENTS_MIGRATIONS)
    yield db
    db.engine.dispose()


def _charged(repository: SqlPaymentRepository):
    new = NewPayment(saga_id="ab" * 16, order_id=41, amount_cents=1999, currency="EUR", card_brand="visa",
                     card_last4="4242")  # fmt: skip
    return repository.add(new)


def test_a_captured_and_then_refunded_payment_records_both_events_with_its_order_and_amount(payments_db):
    repository = SqlPaymentRepository(payments_db)
    payment = _charged(repository)
    repository.settle(payment.id, COMPLETED, None)
    repository.refund(payment.id)

    data = {"payment_id": payment.id, "order_id": 41, "saga_id": "ab" * 16, "amount_cents": 1999, "currency": "EUR"}
    assert events(payments_db, PAYMENTS_OUTBOX) == [
        ("payment.captured", str(payment.id), 1, data),
        ("payment.refunded", str(payment.id), 2, data),
    ]


def test_a_failure_between_a_payments_capture_or_refund_and_its_event_leaves_neither(payments_db):
    repository = SqlPaymentRepository(payments_db)
    dying = SqlPaymentRepository(payments_db, DiesBeforeCommit(PAYMENTS_OUTBOX))
    payment = _charged(repository)

    with pytest.raises(RuntimeError, match="killed before the commit"):
        dying.settle(payment.id, COMPLETED, None)
    assert repository.get(payment.id).status == "processing"
    assert events(payments_db, PAYMENTS_OUTBOX) == []

    repository.settle(payment.id, COMPLETED, None)
    with pytest.raises(RuntimeError, match="killed before the commit"):
        dying.refund(payment.id)
    assert repository.get(payment.id).status == COMPLETED
    assert [t for t, *_ in events(payments_db, PAYMENTS_OUTBOX)] == ["payment.captured"]

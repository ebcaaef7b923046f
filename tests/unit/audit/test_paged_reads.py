"""The audit reads the shop in keyset pages, a range of sagas at a time, and still judges every saga whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.audit.domain import OrderRecord, PaymentRecord, ProductStock, ReservationRecord, audit
from tests.support.audit import FakeStateSource

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(minutes=10)


def consistent_shop(sagas: int, products: int = 1) -> FakeStateSource:
    """``sagas`` confirmed orders, each charged once with its stock committed, and ``products`` balanced products."""
    names = [f"s-{n:02d}" for n in range(1, sagas + 1)]
    return FakeStateSource(
        order_rows=[OrderRecord(n, s, "confirmed", created_at=OLD, updated_at=OLD) for n, s in enumerate(names, 1)],
        payment_rows=[PaymentRecord(s, n, "completed", 1000) for n, s in enumerate(names, 1)],
        reservation_rows=[ReservationRecord(s, "committed") for s in names],
        product_rows=[ProductStock(p, 7, 10, 0, 0, 3) for p in range(1, products + 1)],
    )


def run(source: FakeStateSource, page_size: int):
    return audit(source, now=lambda: NOW, bound_seconds=60.0, page_size=page_size)


def test_a_consistent_shop_read_two_rows_a_page_is_clean_and_every_row_is_read_once():
    source = consistent_shop(sagas=7, products=3)

    violations, read = run(source, page_size=2)

    assert violations == []
    assert read == {"orders": 7, "payments": 7, "reservations": 7, "products": 3}


def test_a_charge_for_a_failed_order_on_the_last_page_of_sagas_is_found():
    source = consistent_shop(sagas=7)
    source.order_rows[6] = OrderRecord(7, "s-07", "failed", created_at=OLD, updated_at=OLD)
    source.reservation_rows[6] = ReservationRecord("s-07", "released")

    violations, _ = run(source, page_size=2)

    assert [(v.invariant, v.subject) for v in violations] == [("charge_has_confirmed_order", "saga s-07")]


def test_a_confirmed_order_without_its_charge_in_a_middle_range_is_found():
    source = consistent_shop(sagas=7)
    del source.payment_rows[3]  # s-04: the second range of two

    violations, _ = run(source, page_size=2)

    assert [(v.invariant, v.subject, v.message) for v in violations] == [
        ("confirmed_order_charged_once", "order 4", "confirmed with 0 completed charges")
    ]


def test_a_charge_whose_saga_has_no_order_between_two_pages_of_orders_is_found():
    source = consistent_shop(sagas=6)
    source.payment_rows.append(PaymentRecord("s-04x", 99, "completed", 1000))  # after s-04, before s-05

    violations, _ = run(source, page_size=2)

    assert [(v.invariant, v.subject) for v in violations] == [("charge_has_confirmed_order", "saga s-04x")]


def test_a_product_out_of_balance_on_a_later_page_of_products_is_found():
    source = consistent_shop(sagas=1, products=5)
    source.product_rows[4] = ProductStock(5, 6, 10, 0, 0, 3)

    violations, _ = run(source, page_size=2)

    assert [(v.invariant, v.subject) for v in violations] == [("stock_conserved", "product 5")]


def test_each_range_of_sagas_is_read_orders_first_then_payments_and_reservations_then_orders_again():
    source = consistent_shop(sagas=3)

    run(source, page_size=2)

    sagas = [(read, after, until) for read, after, until in source.reads if read != "stock"]
    assert sagas == [
        ("orders", None, None),
        ("payments", None, "s-02"),
        ("reservations", None, "s-02"),
        ("orders", None, "s-02"),
        ("orders", "s-02", None),
        ("payments", "s-02", None),
        ("reservations", "s-02", None),
        ("orders", "s-02", None),
    ]

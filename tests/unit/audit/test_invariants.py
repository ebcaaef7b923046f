"""The audit's conservation rules over hand-made snapshots: what agrees passes, each kind of loss is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.audit.domain import (
    INVARIANTS,
    OrderRecord,
    PaymentRecord,
    ReservationRecord,
    Snapshot,
    check,
    counts,
)
from services.common.stock import ProductStock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUND = 60.0
OLD = NOW - timedelta(minutes=10)
FRESH = NOW - timedelta(seconds=5)


def order(saga: str, status: str, *, order_id: int = 1, at: datetime = OLD) -> OrderRecord:
    return OrderRecord(order_id=order_id, saga_id=saga, status=status, created_at=at, updated_at=at)


def charge(saga: str, status: str = "completed", *, order_id: int = 1) -> PaymentRecord:
    return PaymentRecord(saga_id=saga, order_id=order_id, status=status, amount_cents=1000)


def product(stock: int = 7, *, held: int = 0, committed: int = 3, initial: int = 10, restocked: int = 0):
    return ProductStock(
        product_id=1, stock=stock, initial_stock=initial, restocked=restocked, held=held, committed=committed
    )


def audit(orders=(), payments=(), products=(), reservations=(), orders_after=None):
    snapshot = Snapshot(
        orders=list(orders),
        payments=list(payments),
        products=list(products),
        reservations=list(reservations),
        orders_after=list(orders if orders_after is None else orders_after),
    )
    return check(snapshot, now=NOW, bound_seconds=BOUND)


def invariants(violations) -> list[str]:
    return sorted(v.invariant for v in violations)


def test_a_shop_whose_money_and_stock_agree_has_no_violations():
    violations = audit(
        orders=[order("a", "confirmed"), order("b", "failed", order_id=2), order("c", "cancelled", order_id=3)],
        payments=[charge("a"), charge("b", "voided", order_id=2), charge("c", "refunded", order_id=3)],
        products=[product(stock=7, committed=3, initial=10)],
        reservations=[
            ReservationRecord("a", "committed"),
            ReservationRecord("b", "released"),
            ReservationRecord("c", "returned"),
        ],
    )
    assert violations == []


def test_stock_that_is_neither_on_the_shelf_nor_reserved_is_a_violation():
    violations = audit(products=[product(stock=6, committed=3, initial=10)])
    assert invariants(violations) == ["stock_conserved"]
    assert "= 9" in violations[0].message and "= 10" in violations[0].message


def test_restocked_units_count_towards_what_the_product_should_hold():
    assert audit(products=[product(stock=12, committed=3, initial=10, restocked=5)]) == []


def test_a_completed_charge_of_a_failed_order_is_a_violation():
    violations = audit(orders=[order("a", "failed")], payments=[charge("a")])
    assert invariants(violations) == ["charge_has_confirmed_order"]
    assert "order 1 is failed" in violations[0].message


def test_a_completed_charge_with_no_order_at_all_is_a_violation():
    assert invariants(audit(payments=[charge("ghost")])) == ["charge_has_confirmed_order"]


def test_a_confirmed_order_without_a_charge_or_with_two_is_a_violation():
    reservations = [ReservationRecord("a", "committed")]
    uncharged = audit(orders=[order("a", "confirmed")], reservations=reservations)
    twice = audit(orders=[order("a", "confirmed")], payments=[charge("a"), charge("a")], reservations=reservations)
    assert invariants(uncharged) == ["confirmed_order_charged_once"]
    assert invariants(twice) == ["confirmed_order_charged_once"]
    assert "2 completed charges" in twice[0].message


def test_a_confirmed_order_whose_reservation_was_released_is_a_violation():
    violations = audit(
        orders=[order("a", "confirmed")], payments=[charge("a")], reservations=[ReservationRecord("a", "released")]
    )
    assert invariants(violations) == ["confirmed_order_charged_once"]
    assert "reservation is released" in violations[0].message


def test_stock_held_for_a_finished_order_is_a_violation():
    violations = audit(orders=[order("a", "failed")], reservations=[ReservationRecord("a", "held")])
    assert invariants(violations) == ["held_stock_has_unfinished_order"]


def test_stock_held_for_an_order_that_does_not_exist_is_a_violation():
    assert invariants(audit(reservations=[ReservationRecord("lost", "held")])) == ["held_stock_has_unfinished_order"]


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_stock_still_committed_to_an_order_that_failed_or_was_cancelled_is_a_violation(status):
    violations = audit(
        orders=[order("a", status)],
        payments=[charge("a", "refunded")],
        products=[product(stock=7, committed=3, initial=10)],
        reservations=[ReservationRecord("a", "committed")],
    )
    assert [(v.invariant, v.subject) for v in violations] == [("committed_stock_has_confirmed_order", "reservation a")]
    assert f"order 1 is {status}" in violations[0].message


def test_stock_committed_to_no_order_at_all_is_a_violation():
    violations = audit(reservations=[ReservationRecord("lost", "committed")])
    assert invariants(violations) == ["committed_stock_has_confirmed_order"]


def test_stock_committed_to_an_order_still_being_placed_or_cancelled_is_judged_by_the_bound_alone():
    unfinished = [order("a", "paid"), order("b", "cancelling", order_id=2)]
    violations = audit(
        orders=unfinished,
        reservations=[ReservationRecord("a", "committed"), ReservationRecord("b", "committed")],
    )
    assert invariants(violations) == ["order_finished_within_bound", "order_finished_within_bound"]


def test_an_order_unfinished_past_the_bound_is_a_violation_even_while_the_sweep_keeps_touching_it():
    retried = OrderRecord(order_id=1, saga_id="a", status="compensating", created_at=OLD, updated_at=FRESH)
    violations = audit(orders=[retried], reservations=[ReservationRecord("a", "held")])
    assert invariants(violations) == ["held_stock_has_unfinished_order", "order_finished_within_bound"]


def test_an_order_still_inside_the_bound_is_in_flight_and_not_judged():
    violations = audit(
        orders=[order("a", "paid", at=FRESH)], payments=[charge("a")], reservations=[ReservationRecord("a", "held")]
    )
    assert violations == []


def test_an_order_that_changed_between_the_two_reads_is_in_flight():
    first = order("a", "confirmed")
    second = OrderRecord(order_id=1, saga_id="a", status="cancelling", created_at=OLD, updated_at=FRESH)
    # Payments was read between the two: the refund already happened, the order says confirmed.
    violations = audit(
        orders=[first],
        orders_after=[second],
        payments=[charge("a", "refunded")],
        reservations=[ReservationRecord("a", "committed")],
    )
    assert violations == []


def test_an_order_placed_while_the_audit_ran_is_in_flight():
    violations = audit(orders=[], orders_after=[order("new", "pending", at=FRESH)], payments=[charge("new")])
    assert violations == []


def test_counts_name_every_invariant_with_zero_where_it_holds():
    violations = audit(orders=[order("a", "failed")], payments=[charge("a")])
    assert counts(violations) == {name: (1 if name == "charge_has_confirmed_order" else 0) for name in INVARIANTS}


def _cancelling(since: datetime) -> OrderRecord:
    return OrderRecord(
        order_id=1, saga_id="a", status="cancelling", created_at=OLD, updated_at=FRESH, status_changed_at=since
    )


def test_a_cancel_asked_for_recently_is_in_flight_however_old_the_order_is():
    # Its charge is still completed and its stock still committed until the cancel's refund and return land.
    violations = audit(
        orders=[_cancelling(FRESH)], payments=[charge("a")], reservations=[ReservationRecord("a", "committed")]
    )
    assert violations == []


def test_a_cancel_unfinished_past_the_bound_from_when_it_was_asked_for_is_a_violation():
    violations = audit(
        orders=[_cancelling(NOW - timedelta(seconds=BOUND + 1))],
        payments=[charge("a")],
        reservations=[ReservationRecord("a", "committed")],
    )
    assert invariants(violations) == ["charge_has_confirmed_order", "order_finished_within_bound"]

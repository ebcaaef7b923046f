"""The order's state machine: every status change the use cases make is one of its transitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.orders.contract import STATUSES, UNFINISHED
from services.orders.domain import TRANSITIONS, IllegalTransition, Order, OrderItem


def test_every_status_has_its_transitions_and_only_failed_and_cancelled_are_final():
    assert set(TRANSITIONS) == set(STATUSES)
    assert {status for status, targets in TRANSITIONS.items() if not targets} == {"failed", "cancelled"}


def test_the_unfinished_states_are_the_ones_a_checkout_or_a_cancel_passes_through():
    # Reachable only on the way: placed (pending) or asked to cancel (cancelling), and not yet at an end.
    passed_through = {target for targets in TRANSITIONS.values() for target in targets} | {"pending"}
    ends = {"confirmed", "failed", "cancelled"}
    assert set(UNFINISHED) == passed_through - ends
    assert set(UNFINISHED) | ends == set(STATUSES)


@pytest.mark.parametrize(
    ("start", "target"),
    [("failed", "confirmed"), ("cancelled", "confirmed"), ("confirmed", "failed"), ("pending", "paid")],
)
def test_a_status_change_outside_the_state_machine_is_refused_and_leaves_the_status(start, target):
    order = Order(user_id=7, items=[OrderItem(1, 1)], status=start, id=1)

    with pytest.raises(IllegalTransition, match=f"from {start} to {target}"):
        order.move_to(target)

    assert order.status == start


def test_staying_in_a_status_is_no_transition():
    order = Order(user_id=7, items=[OrderItem(1, 1)], status="compensating", id=1)

    order.move_to("compensating")

    assert order.status == "compensating"


def test_a_status_change_records_when_it_happened_and_staying_put_does_not():
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    order = Order(user_id=7, items=[OrderItem(1, 1)], status="confirmed", id=1, status_changed_at=long_ago)

    order.move_to("confirmed")
    assert order.status_changed_at == long_ago

    order.move_to("cancelling")
    assert order.status_changed_at > long_ago

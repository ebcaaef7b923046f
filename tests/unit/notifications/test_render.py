"""What each event tells its customer: services.notifications.domain.render, no database, no broker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from services.common.events import EVENT_TYPES, ORDER_CONFIRMED, PAYMENT_CAPTURED, PAYMENT_REFUNDED, Event
from services.notifications.contract import Kind
from services.notifications.domain import UnusableEvent, render

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def event(type_: str, **data: Any) -> Event:
    return Event(
        id="0" * 31 + "1", type=type_, aggregate_type="order", aggregate_id="7", version=1, occurred_at=WHEN, data=data
    )


def test_every_kind_of_the_contract_is_what_one_event_type_becomes():
    kinds = [
        render(event(type_, order_id=7, user_id=3, amount_cents=1250, currency="EUR")).kind for type_ in EVENT_TYPES
    ]
    assert sorted(kinds) == sorted(get_args(Kind))


def test_a_confirmed_order_tells_its_customer_with_the_events_id_and_time():
    notification = render(event(ORDER_CONFIRMED, order_id=7, user_id=3))
    assert (notification.kind, notification.order_id, notification.user_id) == ("order_confirmed", 7, 3)
    assert notification.message == "Your order 7 is confirmed."
    assert (notification.event_id, notification.occurred_at) == ("0" * 31 + "1", WHEN)


@pytest.mark.parametrize(
    ("type_", "message"),
    [
        (PAYMENT_CAPTURED, "We received 12.05 EUR for order 7."),
        (PAYMENT_REFUNDED, "We refunded 12.05 EUR for order 7."),
    ],
)
def test_a_payment_names_its_amount_in_units_and_cents(type_, message):
    assert render(event(type_, order_id=7, amount_cents=1205, currency="EUR")).message == message


def test_a_payment_without_a_usable_amount_says_the_amount():
    assert render(event(PAYMENT_CAPTURED, order_id=7, amount_cents=-5, currency="EUR")).message == (
        "We received the amount for order 7."
    )


def test_an_event_type_that_tells_no_customer_anything_is_unusable():
    with pytest.raises(UnusableEvent):
        render(event("order.reserved", order_id=7))


@pytest.mark.parametrize(
    "data", [{}, {"order_id": 0}, {"order_id": True}, {"order_id": "7"}, {"order_id": 7, "user_id": 0}]
)
def test_an_event_that_names_no_valid_order_or_user_is_unusable(data):
    with pytest.raises(UnusableEvent):
        render(event(ORDER_CONFIRMED, **data))

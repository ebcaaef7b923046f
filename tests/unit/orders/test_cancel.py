"""Cancelling: a confirmed order is refunded, then its stock returned; anything else is refused."""

import pytest

from services.common.cards import Card
from services.common.errors import PaymentDeclined, UpstreamFailure
from services.orders.domain import (
    CANCELLED,
    CONFIRMED,
    Line,
    NotCancellable,
    OrderNotFound,
    PlaceOrder,
)
from tests.support.fakes.orders import CARD, DECLINE, timed_out, unavailable


def confirmed(service, user_id: int = 7) -> int:
    return service.place_order(PlaceOrder(user_id, (Line(1, 2),), CARD)).body["id"]


def test_cancelling_a_confirmed_order_refunds_then_returns_the_stock(
    service, repo, inventory, payments, journal, metrics
):
    order_id = confirmed(service)
    journal.clear()

    cancelled = service.cancel_order(7, order_id)

    assert cancelled.status == CANCELLED and repo.rows[order_id].status == CANCELLED
    assert journal == [("payments", "void"), ("products", "return"), ("orders", "cancelled")]
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10
    assert metrics.cancellations == 1 and not metrics.compensations


def test_cancelling_a_cancelled_order_again_answers_it_unchanged_without_calling_anyone(service, journal, metrics):
    order_id = confirmed(service)
    first = service.cancel_order(7, order_id)
    journal.clear()

    again = service.cancel_order(7, order_id)

    assert again.to_dict() == first.to_dict() and journal == [] and metrics.cancellations == 1


def test_an_order_that_is_not_confirmed_cannot_be_cancelled(service, repo, journal):
    with pytest.raises(PaymentDeclined):
        service.place_order(PlaceOrder(7, (Line(1, 1),), Card(DECLINE, 12, 2030, "123")))
    (failed,) = repo.rows.values()
    journal.clear()

    with pytest.raises(NotCancellable) as raised:
        service.cancel_order(7, failed.id)

    assert raised.value.status == 409 and raised.value.code == "not_cancellable" and journal == []


@pytest.mark.parametrize(
    ("operation", "fake", "error", "status"),
    [
        ("void", "payments", unavailable("payments"), 503),
        ("return", "inventory", timed_out("products"), 504),
    ],
)
def test_a_cancel_that_cannot_reach_a_service_keeps_the_order_confirmed_and_can_be_retried(
    service, repo, inventory, payments, operation, fake, error, status
):
    order_id = confirmed(service)
    upstream = {"payments": payments, "inventory": inventory}[fake]
    upstream.fail(operation, error)

    with pytest.raises(UpstreamFailure) as raised:
        service.cancel_order(7, order_id)

    assert raised.value.status == status and repo.rows[order_id].status == CONFIRMED
    upstream.heal()
    assert service.cancel_order(7, order_id).status == CANCELLED
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10


def test_nobody_reads_or_cancels_someone_elses_order(service, journal):
    order_id = confirmed(service, user_id=7)
    journal.clear()

    for call in (service.get_order, service.cancel_order):
        with pytest.raises(OrderNotFound) as raised:
            call(8, order_id)
        assert raised.value.status == 404 and raised.value.code == "order_not_found"
    with pytest.raises(OrderNotFound):
        service.get_order(7, 10**30)
    assert journal == []

"""Cancelling: a confirmed order is persisted ``cancelling``, refunded, its stock returned, then ``cancelled``; a
cancel that stops half way is finished by cancelling again or by the recovery sweep; anything else is refused."""

import pytest

from services.common.cards import Card
from services.common.errors import PaymentDeclined
from services.orders.domain import (
    CANCELLED,
    CANCELLING,
    Line,
    NotCancellable,
    OrderNotFound,
    PlaceOrder,
)
from tests.support.fakes.orders import CARD, DECLINE, timed_out, unavailable


class Crash(Exception):
    """The process died here."""


def confirmed(service, user_id: int = 7) -> int:
    return service.place_order(PlaceOrder(user_id, (Line(1, 2),), CARD)).body["id"]


def test_cancelling_a_confirmed_order_refunds_then_returns_the_stock(
    service, repo, inventory, payments, journal, events
):
    order_id = confirmed(service)
    journal.clear()

    cancelled = service.cancel_order(7, order_id)

    assert cancelled.status == CANCELLED and repo.rows[order_id].status == CANCELLED
    assert journal == [("orders", "cancelling"), ("payments", "void"), ("products", "return"), ("orders", "cancelled")]
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10
    assert events.cancellations == 1 and not events.compensations


def test_cancelling_a_cancelled_order_again_answers_it_unchanged_without_calling_anyone(service, journal, events):
    order_id = confirmed(service)
    first = service.cancel_order(7, order_id)
    journal.clear()

    again = service.cancel_order(7, order_id)

    assert again.to_dict() == first.to_dict() and journal == [] and events.cancellations == 1


def test_an_order_that_is_not_confirmed_cannot_be_cancelled(service, repo, journal):
    with pytest.raises(PaymentDeclined):
        service.place_order(PlaceOrder(7, (Line(1, 1),), Card(DECLINE, 12, 2030, "123")))
    (failed,) = repo.rows.values()
    journal.clear()

    with pytest.raises(NotCancellable) as raised:
        service.cancel_order(7, failed.id)

    assert raised.value.status == 409 and raised.value.code == "not_cancellable" and journal == []


@pytest.mark.parametrize(
    ("operation", "fake", "error"),
    [("void", "payments", unavailable("payments")), ("return", "inventory", timed_out("products"))],
)
def test_a_cancel_that_cannot_reach_a_service_stays_cancelling_and_cancelling_again_finishes_it(
    service, repo, inventory, payments, events, operation, fake, error
):
    order_id = confirmed(service)
    upstream = {"payments": payments, "inventory": inventory}[fake]
    upstream.fail(operation, error)

    assert service.cancel_order(7, order_id).status == CANCELLING
    assert repo.rows[order_id].status == CANCELLING and events.cancellations == 0

    upstream.heal()
    assert service.cancel_order(7, order_id).status == CANCELLED
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10
    assert events.cancellations == 1 and not events.compensations


def test_the_cancel_whose_stock_return_fails_ends_cancelled_with_money_refunded_and_stock_back_after_recovery(
    service, repo, inventory, payments, clock, events
):
    order_id = confirmed(service)
    inventory.fail("return", timed_out("products"))

    assert service.cancel_order(7, order_id).status == CANCELLING
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 8  # half way: money back, stock not

    inventory.heal()
    clock.advance(29)
    assert service.recover_unfinished() == []  # still inside the grace period
    clock.advance(2)
    (recovered,) = service.recover_unfinished()

    assert recovered.id == order_id and repo.rows[order_id].status == CANCELLED
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10
    assert events.cancellations == 1 and not events.compensations


def test_a_cancel_whose_process_died_after_persisting_cancelling_is_finished_by_the_sweep(
    service, repo, inventory, payments, clock, journal
):
    order_id = confirmed(service)
    payments.fail("void", Crash("void"), times=1)
    with pytest.raises(Crash):
        service.cancel_order(7, order_id)
    assert repo.rows[order_id].status == CANCELLING and payments.status(order_id) == "completed"

    clock.advance(31)
    journal.clear()
    service.recover_unfinished()

    assert repo.rows[order_id].status == CANCELLED
    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10
    assert journal == [("orders", "cancelling"), ("payments", "void"), ("products", "return"), ("orders", "cancelled")]


def test_finishing_a_cancel_twice_refunds_and_returns_the_stock_once(service, repo, inventory, payments, events):
    order_id = confirmed(service, user_id=7)
    inventory.fail("return", timed_out("products"), times=1)
    service.cancel_order(7, order_id)
    stale = service.get_order(7, order_id)  # a second request read it before the first one finished

    assert service.cancel_order(7, order_id).status == CANCELLED
    assert service.cancellation.finish(stale).status == CANCELLED  # its save is stale: it answers the stored order

    assert payments.status(order_id) == "refunded" and inventory.stock(1) == 10 and events.cancellations == 1


def test_a_cancel_that_finds_a_concurrent_cancel_already_cancelling_answers_the_stored_order(service, repo, inventory):
    order_id = confirmed(service)
    stale = service.get_order(7, order_id)
    inventory.fail("return", timed_out("products"), times=1)
    service.cancel_order(7, order_id)  # persisted cancelling, return failed

    assert service.cancellation.begin(stale).status == CANCELLING
    assert repo.history[order_id].count(CANCELLING) == 1


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

"""Nothing stays ``processing``: the reconciler settles a payment left there from the provider's record of its key,
or cancels the key and voids it when the provider never saw it."""

import threading
from datetime import date, timedelta

import pytest

from services.payments.domain import (
    COMPLETED,
    DECLINED,
    PROCESSING,
    REFUNDED,
    VOIDED,
    PaymentInProgress,
    PaymentService,
    PaymentVoided,
    Voided,
)
from tests.support.fakes.payments import CREATED_AT, FailingProvider, FakeRepository, GatedProvider, RecordingEvents
from tests.support.payments import DECLINES, VISA

SAGA = "b" * 32
LATER = CREATED_AT + timedelta(seconds=60)


def make(provider):
    repository, events = FakeRepository(), RecordingEvents()
    service = PaymentService(repository, provider, events, today=lambda: date(2026, 6, 15))
    return service, repository, events


def charge(service, number=VISA):
    return service.charge(SAGA, 1, 1999, "EUR", number, "12/30", "123")


def left_processing(number=VISA, *, recorded):
    """A charge whose provider call raised: recorded (the network captured, the answer was lost) or not."""
    provider = FailingProvider(records=recorded)
    service, repository, events = make(provider)
    with pytest.raises(TimeoutError):
        charge(service, number)
    with pytest.raises(PaymentInProgress):  # what a keyed replay answers today, forever without the reconciler
        charge(service, number)
    return service, repository, events, provider


def test_a_payment_the_provider_approved_but_whose_answer_was_lost_is_settled_completed_and_replays_answer_it():
    service, repository, events, _ = left_processing(recorded=True)
    [settled] = service.reconcile(30, now=LATER)
    assert settled.status == COMPLETED
    replay = charge(service)
    assert (replay.created, replay.payment.status, replay.payment.id) == (False, COMPLETED, settled.id)
    assert [name for name, _ in events.seen] == ["approved", "reconciled completed"]


def test_a_payment_the_provider_declined_is_settled_declined_with_its_code():
    service, repository, events, _ = left_processing(DECLINES, recorded=True)
    [settled] = service.reconcile(30, now=LATER)
    assert (settled.status, settled.decline_code) == (DECLINED, "card_declined")
    assert charge(service, DECLINES).payment.status == DECLINED
    assert [name for name, _ in events.seen] == ["declined", "reconciled declined"]


def test_a_payment_the_provider_never_saw_is_voided_and_its_key_cancelled_so_nothing_can_capture_it_later():
    service, repository, events, provider = left_processing(recorded=False)
    [settled] = service.reconcile(30, now=LATER)
    assert (settled.status, settled.amount_cents) == (VOIDED, 1999)
    assert provider.lookup(SAGA) == Voided()
    with pytest.raises(PaymentVoided):
        charge(service)
    assert [name for name, _ in events.seen] == ["reconciled voided"]


def test_an_approved_payment_whose_order_gave_up_is_refunded_as_it_is_reconciled():
    service, repository, events, _ = left_processing(recorded=True)
    assert service.void(SAGA).void_requested
    [settled] = service.reconcile(30, now=LATER)
    assert settled.status == REFUNDED
    assert service.void(SAGA).status == REFUNDED
    assert [name for name, _ in events.seen] == ["approved", "refunded", "reconciled completed"]


def test_a_payment_processing_for_less_than_the_bound_is_left_to_the_request_still_at_the_provider():
    service, repository, events, _ = left_processing(recorded=False)
    assert service.reconcile(30, now=CREATED_AT + timedelta(seconds=29)) == []
    assert [p.status for p in repository.rows.values()] == [PROCESSING]
    assert events.seen == []


def test_a_reconciled_payment_is_settled_once_however_often_the_reconciler_runs():
    service, repository, events, _ = left_processing(recorded=True)
    assert len(service.reconcile(30, now=LATER)) == 1
    assert service.reconcile(30, now=LATER) == []
    assert [name for name, _ in events.seen] == ["approved", "reconciled completed"]


def test_a_request_that_reaches_the_provider_after_the_reconciler_voided_its_payment_captures_nothing():
    provider = GatedProvider()
    service, repository, events = make(provider)
    answers = []

    def late_request():
        try:
            answers.append(charge(service))
        except PaymentVoided as exc:
            answers.append(exc)

    thread = threading.Thread(target=late_request)
    thread.start()
    assert provider.asked.wait(5)
    [settled] = service.reconcile(30, now=LATER)  # the provider has not recorded the key yet: unknown
    provider.gate.set()
    thread.join(10)
    assert settled.status == VOIDED and isinstance(answers[0], PaymentVoided)
    assert [p.status for p in repository.rows.values()] == [VOIDED]
    assert provider.lookup(SAGA) == Voided()

"""Voiding a saga's charge: whatever the charge did, or does later, it does not stick."""

from datetime import date

import pytest

from services.payments.domain import (
    COMPLETED,
    DECLINED,
    PROCESSING,
    REFUNDED,
    VOIDED,
    Card,
    Money,
    Outcome,
    PaymentService,
    PaymentVoided,
)
from tests.support.fakes.payments import CountingProvider, FakeRepository, RecordingEvents

SAGA = "a" * 32
VISA = "4242424242424242"
DECLINES = "4000000000000002"


class VoidWhileAnswering(CountingProvider):
    """The order gives up (and voids) while the provider is still answering the charge."""

    service: PaymentService

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        voided = self.service.void(SAGA)
        assert (voided.status, voided.void_requested) == (PROCESSING, True)
        return super().authorize(key, card, amount)


def make(provider=None):
    repository, events = FakeRepository(), RecordingEvents()
    provider = provider or CountingProvider()
    service = PaymentService(repository, provider, events, today=lambda: date(2026, 6, 15))
    return service, repository, provider, events


def charge(service, number=VISA):
    return service.charge(SAGA, 7, 1999, "EUR", number, "12/30", "123")


def test_voiding_a_saga_never_charged_leaves_a_tombstone_that_refuses_a_late_charge_before_the_provider():
    service, repository, provider, events = make()

    voided = service.void(SAGA)
    with pytest.raises(PaymentVoided) as refused:
        charge(service)

    assert (voided.status, voided.amount_cents, voided.saga_id) == (VOIDED, 0, SAGA)
    assert (refused.value.status, refused.value.code) == (409, "payment_voided")
    assert provider.calls == [] and events.seen == []
    assert [p.status for p in repository.rows.values()] == [VOIDED]
    assert service.void(SAGA) == voided  # idempotent


def test_voiding_a_completed_charge_refunds_it_once():
    service, repository, _, events = make()
    charged = charge(service).payment

    first, again = service.void(SAGA), service.void(SAGA)

    assert charged.status == COMPLETED and first.status == REFUNDED and again == first
    assert [kind for kind, _ in events.seen] == ["approved", "refunded"]


def test_a_void_that_arrives_while_the_provider_answers_refunds_the_charge_when_it_settles():
    provider = VoidWhileAnswering()
    service, repository, provider, events = make(provider)
    provider.service = service

    with pytest.raises(PaymentVoided):
        charge(service)

    (payment,) = repository.rows.values()
    assert payment.status == REFUNDED and len(provider.calls) == 1
    assert [kind for kind, _ in events.seen] == ["approved", "refunded"]
    assert service.void(SAGA).status == REFUNDED
    with pytest.raises(PaymentVoided):
        charge(service)  # a replay of the charge does not bring it back
    assert len(provider.calls) == 1


def test_voiding_a_declined_charge_leaves_it_declined():
    service, _, _, events = make()
    charge(service, number=DECLINES)

    assert service.void(SAGA).status == DECLINED
    assert [kind for kind, _ in events.seen] == ["declined"]

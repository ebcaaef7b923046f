from dataclasses import replace
from datetime import date

import pytest

from services.common.cards import InvalidCard
from services.common.contract import CURRENCY
from services.common.errors import InvalidInput
from services.payments.contract import PaymentQuery
from services.payments.domain import (
    COMPLETED,
    DECLINED,
    PROCESSING,
    REFUNDED,
    CardDeclined,
    Money,
    NotRefundable,
    OrderAlreadyCharged,
    Payment,
    PaymentInProgress,
    PaymentNotFound,
    PaymentService,
)
from tests.support.fakes.payments import (
    CREATED_AT,
    ConfusedProvider,
    CountingProvider,
    FailingProvider,
    FakeRepository,
    LostRaceRepository,
    RecordingEvents,
)
from tests.support.payments import saga_for

VISA = "4242424242424242"
DECLINES = "4000000000000002"
NO_FUNDS = "4000000000009995"


class World:
    def __init__(self, repository=None, provider=None):
        self.repository = repository or FakeRepository()
        self.provider = provider or CountingProvider()
        self.events = RecordingEvents()
        self.payments = PaymentService(self.repository, self.provider, self.events, today=lambda: date(2026, 6, 15))

    def charge(  # one checkout per order id unless ``saga_id`` says otherwise
        self, order_id=1, amount_cents=1999, currency="EUR", number=VISA, expiry="12/30", cvc="123", saga_id=None
    ):
        saga_id = saga_for(order_id) if saga_id is None else saga_id
        return self.payments.charge(saga_id, order_id, amount_cents, currency, number, expiry, cvc)


@pytest.fixture
def world():
    return World()


# Charging -------------------------------------------------------------------------------------------------


def test_an_approved_charge_is_stored_completed_with_only_the_brand_and_last_four_digits(world):
    charge = world.charge(order_id=7, amount_cents=2500)
    assert charge.created is True
    payment = charge.payment
    assert (payment.order_id, payment.status, payment.amount_cents, payment.currency) == (7, COMPLETED, 2500, "EUR")
    assert (payment.card_brand, payment.card_last4, payment.decline_code) == ("visa", "4242", None)
    assert world.repository.rows == {payment.id: payment}
    assert VISA not in repr(world.repository.rows)


def test_the_provider_is_asked_with_the_card_and_the_amount(world):
    world.charge(amount_cents=4200)
    [(card, amount)] = world.provider.calls
    assert card.number == VISA and card.cvc == "123"
    assert amount == Money(4200, "EUR")


@pytest.mark.parametrize(("number", "code"), [(DECLINES, "card_declined"), (NO_FUNDS, "insufficient_funds")])
def test_a_declined_charge_is_stored_declined_with_the_decline_code(world, number, code):
    charge = world.charge(number=number)
    assert charge.created is True
    assert (charge.payment.status, charge.payment.decline_code) == (DECLINED, code)
    assert world.repository.rows[charge.payment.id] == charge.payment


@pytest.mark.parametrize(("number", "code"), [(DECLINES, "card_declined"), (NO_FUNDS, "insufficient_funds")])
def test_charge_or_decline_raises_a_declined_charge_as_card_declined_carrying_the_stored_payment(world, number, code):
    with pytest.raises(CardDeclined) as caught:
        world.payments.charge_or_decline(saga_for(3), 3, 1999, "EUR", number, "12/30", "123")
    [stored] = world.repository.rows.values()
    assert (caught.value.status, caught.value.code, caught.value.message) == (402, code, "The card was declined.")
    assert caught.value.payment == stored
    assert caught.value.details == {"payment": stored.to_dict()}


def test_charge_or_decline_raises_a_repeat_of_a_declined_charge_too(world):
    first = world.charge(number=DECLINES)
    with pytest.raises(CardDeclined) as caught:
        world.payments.charge_or_decline(saga_for(1), 1, 1999, "EUR", DECLINES, "12/30", "123")
    assert caught.value.payment == first.payment
    assert len(world.provider.calls) == 1


def test_charge_or_decline_returns_an_approved_charge_as_charge_does(world):
    charge = world.payments.charge_or_decline(saga_for(4), 4, 1999, "EUR", VISA, "12/30", "123")
    assert (charge.created, charge.payment.status) == (True, COMPLETED)
    assert world.payments.charge_or_decline(saga_for(4), 4, 1999, "EUR", VISA, "12/30", "123") == replace(
        charge, created=False
    )


def test_a_payment_as_the_api_shows_it_has_the_contract_fields_and_a_utc_timestamp(world):
    payment = world.charge(order_id=8).payment
    shown = payment.to_dict()
    assert set(shown) == {
        "id", "saga_id", "order_id", "status", "amount_cents", "currency",
        "card_brand", "card_last4", "decline_code", "created_at",
    }  # fmt: skip
    assert (shown["id"], shown["order_id"], shown["status"]) == (payment.id, 8, COMPLETED)
    assert shown["created_at"].endswith("Z")


def test_an_approval_and_a_decline_are_each_reported_once_as_events(world):
    approved = world.charge(order_id=1).payment
    declined = world.charge(order_id=2, number=DECLINES).payment
    assert world.events.seen == [("approved", approved), ("declined", declined)]


def test_a_repeated_charge_returns_the_stored_payment_without_asking_the_provider_again(world):
    first = world.charge()
    again = world.charge()
    assert again.created is False
    assert again.payment == first.payment
    assert len(world.provider.calls) == 1
    assert len(world.repository.rows) == 1
    assert world.events.seen == [("approved", first.payment)]


def test_a_repeated_declined_charge_returns_the_declined_payment_without_asking_again(world):
    first = world.charge(number=DECLINES)
    again = world.charge(number=DECLINES)
    assert (again.created, again.payment) == (False, first.payment)
    assert len(world.provider.calls) == 1


def test_a_repeat_with_a_different_amount_is_refused_as_order_already_charged(world):
    first = world.charge(amount_cents=1999)
    with pytest.raises(OrderAlreadyCharged) as caught:
        world.charge(amount_cents=2000)
    assert (caught.value.status, caught.value.code) == (409, "order_already_charged")
    assert world.repository.rows == {first.payment.id: first.payment}
    assert len(world.provider.calls) == 1


def test_a_repeat_for_a_refunded_payment_returns_the_refunded_payment(world):
    first = world.charge()
    world.payments.refund(first.payment.id)
    again = world.charge()
    assert (again.created, again.payment.status) == (False, REFUNDED)
    assert len(world.provider.calls) == 1


def test_a_request_that_loses_the_insert_race_returns_the_winners_payment_without_charging():
    other = _stored(status=COMPLETED)
    world = World(repository=LostRaceRepository(other))
    charge = world.charge(order_id=other.order_id, amount_cents=other.amount_cents)
    assert (charge.created, charge.payment) == (False, other)
    assert world.provider.calls == []
    assert world.events.seen == []


def test_a_request_that_loses_the_insert_race_while_the_winner_is_at_the_provider_gets_payment_in_progress():
    other = _stored(status=PROCESSING)
    world = World(repository=LostRaceRepository(other))
    with pytest.raises(PaymentInProgress) as caught:
        world.charge(order_id=other.order_id, amount_cents=other.amount_cents)
    assert (caught.value.status, caught.value.code) == (409, "payment_in_progress")
    assert world.provider.calls == []


def test_a_provider_failure_leaves_the_payment_processing_so_a_repeat_cannot_charge_twice():
    world = World(provider=FailingProvider())
    with pytest.raises(TimeoutError):
        world.charge()
    [payment] = world.repository.rows.values()
    assert payment.status == PROCESSING
    with pytest.raises(PaymentInProgress):
        world.charge()
    assert world.provider.calls == 1
    assert world.events.seen == []


def test_a_provider_answer_that_is_neither_approval_nor_decline_is_an_error_and_settles_nothing():
    world = World(provider=ConfusedProvider())
    with pytest.raises(TypeError, match="ConfusedProvider answered str"):
        world.charge()
    assert [p.status for p in world.repository.rows.values()] == [PROCESSING]


# Refusing bad input ---------------------------------------------------------------------------------------


def test_an_invalid_card_stores_nothing_and_asks_no_provider(world):
    with pytest.raises(InvalidCard):
        world.charge(number="4242424242424241")
    assert world.repository.rows == {}
    assert world.provider.calls == []


def test_an_expired_card_stores_nothing_and_asks_no_provider(world):
    with pytest.raises(InvalidCard) as caught:
        world.charge(expiry="05/26")
    assert caught.value.details == [{"field": "card.expiry", "message": "The card has expired."}]
    assert world.repository.rows == {}
    assert world.provider.calls == []


def test_an_invalid_card_is_refused_even_for_an_order_already_charged(world):
    world.charge()
    with pytest.raises(InvalidCard):
        world.charge(cvc="1")


#: A value each charge field refuses: amounts are 1 to 100,000,000 integer cents, the currency is EUR, the order
#: id a positive integer.
REFUSED = [
    *[("amount_cents", v) for v in (0, -1, -1999, 100_000_001, True, 19.99, 1999.0, "1999", None)],
    *[("currency", v) for v in ("USD", "eur", "", None)],
    *[("order_id", v) for v in (0, -3, 2**63, True, "1", 1.0)],
]


@pytest.mark.parametrize(("field", "value"), REFUSED, ids=[f"{f}={v!r}" for f, v in REFUSED])
def test_a_charge_with_a_field_outside_its_rule_is_refused_naming_the_field_storing_and_sending_nothing(
    world, field, value
):
    with pytest.raises(InvalidInput) as caught:
        world.charge(**{field: value})
    assert [d["field"] for d in caught.value.details] == [field]
    assert world.repository.rows == {}
    assert world.provider.calls == []


@pytest.mark.parametrize("amount", [1, 100_000_000])
def test_the_smallest_and_largest_amounts_are_charged(world, amount):
    assert world.charge(amount_cents=amount).payment.amount_cents == amount


def test_a_refused_currency_is_told_which_currencies_the_shop_takes(world):
    with pytest.raises(InvalidInput) as caught:
        world.charge(currency="USD")
    assert caught.value.details == [{"field": "currency", "message": f"The currency must be {CURRENCY}."}]


# Refunds --------------------------------------------------------------------------------------------------


def test_a_completed_payment_is_refunded_and_the_refund_is_reported(world):
    payment = world.charge().payment
    refunded = world.payments.refund(payment.id)
    assert refunded == replace(payment, status=REFUNDED)
    assert world.repository.rows[payment.id].status == REFUNDED
    assert world.events.seen[-1] == ("refunded", refunded)


def test_refunding_twice_returns_the_refunded_payment_and_reports_one_refund(world):
    payment = world.charge().payment
    first = world.payments.refund(payment.id)
    second = world.payments.refund(payment.id)
    assert second == first
    assert [kind for kind, _ in world.events.seen] == ["approved", "refunded"]


def test_a_declined_payment_is_not_refundable(world):
    payment = world.charge(number=DECLINES).payment
    with pytest.raises(NotRefundable) as caught:
        world.payments.refund(payment.id)
    assert (caught.value.status, caught.value.code) == (409, "not_refundable")
    assert world.repository.rows[payment.id].status == DECLINED


def test_a_payment_still_at_the_provider_is_not_refundable():
    world = World(provider=FailingProvider())
    with pytest.raises(TimeoutError):
        world.charge()
    [payment] = world.repository.rows.values()
    with pytest.raises(NotRefundable):
        world.payments.refund(payment.id)


@pytest.mark.parametrize("payment_id", [1, 0, -1, 2**63])
def test_refunding_an_unknown_payment_is_payment_not_found(world, payment_id):
    with pytest.raises(PaymentNotFound) as caught:
        world.payments.refund(payment_id)
    assert (caught.value.status, caught.value.code) == (404, "payment_not_found")


# Lookups --------------------------------------------------------------------------------------------------


def test_the_payments_of_an_order_id_are_one_per_saga_and_a_saga_has_its_one_payment_or_none(world):
    payment = world.charge(order_id=5).payment
    assert world.payments.for_order(5) == [payment]
    assert world.payments.for_order(6) == []
    assert world.payments.for_saga(saga_for(5)) == [payment]
    assert world.payments.for_saga(saga_for(6)) == []


def test_listing_payments_looks_up_the_order_id_or_the_saga_the_query_names(world):
    payment = world.charge(order_id=5).payment
    assert world.payments.list_payments(PaymentQuery(order_id=5)) == [payment]
    assert world.payments.list_payments(PaymentQuery(order_id=6)) == []
    assert world.payments.list_payments(PaymentQuery(saga_id=saga_for(5))) == [payment]
    assert world.payments.list_payments(PaymentQuery(saga_id=saga_for(6))) == []


def test_a_new_saga_reusing_an_order_id_is_charged_on_its_own_and_never_gets_the_old_sagas_payment(world):
    old = world.charge(order_id=1, saga_id="a" * 32).payment
    new = world.charge(order_id=1, saga_id="b" * 32)
    assert new.created
    assert new.payment.id != old.id
    assert (new.payment.saga_id, new.payment.status) == ("b" * 32, COMPLETED)
    assert len(world.provider.calls) == 2
    assert world.payments.for_order(1) == [old, new.payment]


def test_a_repeat_of_a_saga_for_another_order_id_is_refused_as_order_already_charged(world):
    world.charge(order_id=1, saga_id="a" * 32)
    with pytest.raises(OrderAlreadyCharged):
        world.charge(order_id=2, saga_id="a" * 32)
    assert len(world.provider.calls) == 1


def _stored(status):
    """A payment another request already stored for order 9."""
    return Payment(
        id=41,
        saga_id=saga_for(9),
        order_id=9,
        status=status,
        amount_cents=1999,
        currency="EUR",
        card_brand="visa",
        card_last4="4242",
        decline_code=None,
        created_at=CREATED_AT,
    )

"""The simulated card network: test cards decide, once per idempotency key, and its ledger remembers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from services.payments.domain import Approval, Decline, Money, PaymentProvider, Voided, parse_card
from services.payments.provider import MemoryLedger, SimulatedProvider

EUR_10 = Money(1000, "EUR")
KEY = "k" * 32


def card(number):
    return parse_card(number, "12/30", "123", date(2026, 1, 1))


def test_the_simulated_provider_implements_the_provider_port():
    assert isinstance(SimulatedProvider(), PaymentProvider)


def test_the_approving_test_card_is_approved():
    assert SimulatedProvider().authorize(KEY, card("4242424242424242"), EUR_10) == Approval()


@pytest.mark.parametrize(
    ("number", "code"), [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")]
)
def test_the_declining_test_cards_are_declined_with_their_code(number, code):
    assert SimulatedProvider().authorize(KEY, card(number), EUR_10) == Decline(code)


@pytest.mark.parametrize("number", ["5555555555554444", "378282246310005", "6011111111111117", "4000056655665556"])
def test_any_other_valid_card_is_approved(number):
    assert SimulatedProvider().authorize(KEY, card(number), EUR_10) == Approval()


def test_a_decline_only_carries_a_known_code():
    with pytest.raises(ValueError, match="unknown decline code"):
        Decline("stolen_card")


def test_a_key_authorized_again_answers_its_first_outcome_whatever_card_or_amount_comes_and_records_once():
    ledger = MemoryLedger()
    provider = SimulatedProvider(ledger)
    assert provider.authorize(KEY, card("4000000000000002"), EUR_10) == Decline("card_declined")
    assert provider.authorize(KEY, card("4242424242424242"), Money(99, "EUR")) == Decline("card_declined")
    assert list(ledger.entries) == [KEY]
    assert (ledger.entries[KEY].amount_cents, ledger.entries[KEY].decline_code) == (1000, "card_declined")


def test_concurrent_authorizations_of_one_key_record_one_capture_and_all_answer_it():
    ledger = MemoryLedger()
    provider = SimulatedProvider(ledger)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: provider.authorize(KEY, card("4242424242424242"), EUR_10), range(32)))
    assert set(answers) == {Approval()} and len(ledger.entries) == 1


def test_asking_about_a_key_answers_what_was_done_or_none_when_it_was_never_seen():
    provider = SimulatedProvider()
    assert provider.lookup(KEY) is None
    provider.authorize(KEY, card("4000000000009995"), EUR_10)
    assert provider.lookup(KEY) == Decline("insufficient_funds")
    assert provider.lookup("other") is None


def test_a_cancelled_key_is_never_authorized_afterwards():
    provider = SimulatedProvider()
    assert provider.cancel(KEY) == Voided()
    assert provider.authorize(KEY, card("4242424242424242"), EUR_10) == Voided()
    assert provider.lookup(KEY) == Voided()


def test_cancelling_a_key_already_authorized_answers_the_authorization_and_changes_nothing():
    provider = SimulatedProvider()
    provider.authorize(KEY, card("4242424242424242"), EUR_10)
    assert provider.cancel(KEY) == Approval()
    assert provider.lookup(KEY) == Approval()

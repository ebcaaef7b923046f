from datetime import date

import pytest

from services.payments.domain import Approval, Decline, Money, PaymentProvider, SimulatedProvider, parse_card

EUR_10 = Money(1000, "EUR")


def card(number):
    return parse_card(number, "12/30", "123", date(2026, 1, 1))


def test_the_simulated_provider_implements_the_provider_port():
    assert isinstance(SimulatedProvider(), PaymentProvider)


def test_the_approving_test_card_is_approved():
    assert SimulatedProvider().authorize(card("4242424242424242"), EUR_10) == Approval()


@pytest.mark.parametrize(
    ("number", "code"), [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")]
)
def test_the_declining_test_cards_are_declined_with_their_code(number, code):
    assert SimulatedProvider().authorize(card(number), EUR_10) == Decline(code)


@pytest.mark.parametrize("number", ["5555555555554444", "378282246310005", "6011111111111117", "4000056655665556"])
def test_any_other_valid_card_is_approved(number):
    assert SimulatedProvider().authorize(card(number), EUR_10) == Approval()


def test_a_decline_only_carries_a_known_code():
    with pytest.raises(ValueError, match="unknown decline code"):
        Decline("stolen_card")

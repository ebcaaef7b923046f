from datetime import date

import pytest

from services.common.cards import Card, InvalidCard, card_brand, luhn_valid, parse_card
from tests.support.cards import NOT_13_TO_19_ASCII_DIGITS, VISA, with_check_digit

TODAY = date(2026, 6, 30)  # the last day of June 2026


def problems(number=VISA, expiry="12/30", cvc="123", today=TODAY):
    with pytest.raises(InvalidCard) as caught:
        parse_card(number, expiry, cvc, today)
    assert caught.value.status == 422 and caught.value.code == "invalid_card"
    return caught.value.details


@pytest.mark.parametrize(
    "number", ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117", "4222222222222"]
)
def test_known_test_card_numbers_pass_the_luhn_check(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "5555555555554445", "378282246310006", "4222222222223"])
def test_a_number_with_a_wrong_check_digit_fails_the_luhn_check(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize("length", range(13, 20))
def test_card_numbers_of_13_to_19_digits_are_accepted(length):
    number = with_check_digit("4" + "1" * (length - 2))
    card = parse_card(number, "12/30", "123", TODAY)
    assert len(number) == length
    assert card.number == number and card.last4 == number[-4:]


@pytest.mark.parametrize("number", NOT_13_TO_19_ASCII_DIGITS)
def test_a_number_that_is_not_13_to_19_ascii_digits_is_refused(number):
    assert problems(number=number) == [{"field": "card.number", "message": "The card number must be 13 to 19 digits."}]


def test_a_number_failing_the_luhn_check_is_refused():
    assert problems(number="4242424242424241") == [{"field": "card.number", "message": "The card number is not valid."}]


def test_a_card_expiring_this_month_is_valid_until_the_end_of_the_month():
    card = parse_card(VISA, "06/26", "123", TODAY)
    assert (card.exp_month, card.exp_year) == (6, 2026)


@pytest.mark.parametrize("expiry", ["07/26", "01/27", "12/99"])
def test_a_card_expiring_in_a_later_month_is_valid(expiry):
    parse_card(VISA, expiry, "123", TODAY)


@pytest.mark.parametrize("expiry", ["05/26", "12/25", "06/20", "01/00"])
def test_a_card_that_expired_before_this_month_is_refused(expiry):
    assert problems(expiry=expiry) == [{"field": "card.expiry", "message": "The card has expired."}]


@pytest.mark.parametrize("expiry", ["00/30", "13/30", "99/30"])
def test_an_expiry_month_outside_01_to_12_is_refused(expiry):
    assert problems(expiry=expiry) == [{"field": "card.expiry", "message": "The expiry month must be 01 to 12."}]


@pytest.mark.parametrize("expiry", ["1/30", "01/2030", "01-30", "0130", "", "ab/cd", " 01/30", "01/30\n", "01/3"])
def test_an_expiry_not_written_mm_yy_is_refused(expiry):
    assert problems(expiry=expiry) == [{"field": "card.expiry", "message": "The expiry must be MM/YY."}]


@pytest.mark.parametrize("cvc", ["123", "1234"])
def test_a_cvc_of_3_or_4_digits_is_accepted(cvc):
    assert parse_card(VISA, "12/30", cvc, TODAY).cvc == cvc


@pytest.mark.parametrize("cvc", ["12", "12345", "12a", "", "١٢٣", "123\n"])
def test_a_cvc_that_is_not_3_or_4_digits_is_refused(cvc):
    assert problems(cvc=cvc) == [{"field": "card.cvc", "message": "The CVC must be 3 or 4 digits."}]


def test_every_problem_of_a_card_is_reported_at_once_without_echoing_the_values():
    details = problems(number="4242424242424241", expiry="05/26", cvc="98")
    assert [d["field"] for d in details] == ["card.number", "card.expiry", "card.cvc"]
    text = repr(details)
    assert "4242424242424241" not in text and "98" not in text


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("4000056655665556", "visa"),
        ("5105105105105100", "mastercard"),
        ("5555555555554444", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000000", "mastercard"),
        ("378282246310005", "amex"),
        ("340000000000009", "amex"),
        ("6011111111111117", "discover"),
        ("6500000000000002", "discover"),
        ("6440000000000000", "discover"),
        ("6490000000000000", "discover"),
        ("6221260000000000", "discover"),
        ("6229250000000000", "discover"),
        ("3530111333300000", "unknown"),
        ("5000000000000000", "unknown"),
        ("5600000000000000", "unknown"),
        ("2220990000000000", "unknown"),
        ("2721000000000000", "unknown"),
        ("6221250000000000", "unknown"),
        ("6229260000000000", "unknown"),
        ("6430000000000000", "unknown"),
        ("3000000000000000", "unknown"),
    ],
)
def test_the_brand_is_detected_from_the_number_prefix(number, brand):
    assert card_brand(number) == brand


def test_a_card_shows_neither_its_number_nor_its_cvc_in_its_repr():
    card = parse_card(VISA, "12/30", "987", TODAY)
    text = repr(card) + str(card)
    assert VISA not in text and "987" not in text
    assert card.brand == "visa" and card.last4 == "4242"


def test_a_card_is_a_plain_value():
    assert parse_card(VISA, "12/30", "123", TODAY) == Card(VISA, 12, 2030, "123")

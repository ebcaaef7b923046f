"""Card numbers for the tests of card parsing, in services.common.cards and behind the payments API alike."""

from __future__ import annotations

import pytest

VISA = "4242424242424242"


def with_check_digit(body: str) -> str:
    """Append the Luhn check digit to ``body`` (computed independently of the code under test)."""
    digits = [int(d) for d in body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:  # doubled once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


#: Numbers that are not 13 to 19 ASCII digits, each a ``pytest.param`` named for what is wrong with it.
NOT_13_TO_19_ASCII_DIGITS = [
    pytest.param(with_check_digit("4" * 11), id="12-digits"),
    pytest.param(with_check_digit("4" * 19), id="20-digits"),
    pytest.param("4242 4242 4242 4242", id="spaces"),
    pytest.param("4242-4242-4242-4242", id="dashes"),
    pytest.param("4242424242424a42", id="letter"),
    pytest.param("4242x24242424242", id="letter-x"),
    pytest.param("", id="empty"),
    pytest.param("４２４２４２４２４２４２４２４２", id="fullwidth-digits"),
    pytest.param("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", id="arabic-indic-digits"),
    pytest.param(VISA + "\n", id="trailing-newline"),
    pytest.param("-" + VISA, id="minus-sign"),
]

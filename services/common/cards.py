"""Payment card rules shared by payments (which charges cards) and orders (which rejects a malformed card
before it creates an order): number 13-19 digits passing Luhn, expiry ``MM/YY`` not before this month,
CVC 3-4 digits, brand from the number's prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from .errors import InvalidInput

#: What a well-formed card looks like, for the contracts that describe card fields (request models, OpenAPI).
NUMBER_PATTERN = r"^[0-9]{13,19}$"
EXPIRY_PATTERN = r"^(0[1-9]|1[0-2])/[0-9]{2}$"
CVC_PATTERN = r"^[0-9]{3,4}$"

_NUMBER = re.compile(NUMBER_PATTERN)
_EXPIRY = re.compile(r"([0-9]{2})/([0-9]{2})")  # the shape only: a bad month gets its own message
_CVC = re.compile(CVC_PATTERN)
#: Field names used in error details, as the payments API spells them.
CARD_FIELDS = ("card.number", "card.expiry", "card.cvc")


#: The error code of a malformed card (422), answered by payments and by orders.
INVALID_CARD: Final = "invalid_card"


class InvalidCard(InvalidInput, code=INVALID_CARD):
    """The card fails the shop's checks (number, expiry, CVC); ``details``, when given, names the fields."""


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) checksum of a string of ASCII digits."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = ord(char) - ord("0")
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """visa, mastercard, amex, discover or unknown, from the number's prefix (IIN ranges)."""
    if number.startswith("4"):
        return "visa"
    two, three, four, six = int(number[:2]), int(number[:3]), int(number[:4]), int(number[:6])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if four == 6011 or two == 65 or 644 <= three <= 649 or 622126 <= six <= 622925:
        return "discover"
    return "unknown"


@dataclass(frozen=True)
class Card:
    """A checked card. Number and CVC exist only in memory, for the provider; never stored or logged."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        return card_brand(self.number)

    @property
    def expiry(self) -> str:
        """``MM/YY``, as the card was given."""
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"


def parse_card(number: str, expiry: str, cvc: str, today: date, fields: tuple[str, str, str] = CARD_FIELDS) -> Card:
    """Check a card's number (13-19 digits, Luhn), expiry (``MM/YY``, not before this month) and CVC.

    Raises :class:`InvalidCard` listing every problem as ``{"field", "message"}``; values are never echoed.
    """
    problems: list[dict[str, str]] = []
    if not _NUMBER.fullmatch(number):
        problems.append({"field": fields[0], "message": "The card number must be 13 to 19 digits."})
    elif not luhn_valid(number):
        problems.append({"field": fields[0], "message": "The card number is not valid."})
    month = year = 0
    match = _EXPIRY.fullmatch(expiry)
    if match is None:
        problems.append({"field": fields[1], "message": "The expiry must be MM/YY."})
    else:
        month, year = int(match[1]), 2000 + int(match[2])
        if not 1 <= month <= 12:
            problems.append({"field": fields[1], "message": "The expiry month must be 01 to 12."})
        elif (year, month) < (today.year, today.month):  # valid through the last day of its month
            problems.append({"field": fields[1], "message": "The card has expired."})
    if not _CVC.fullmatch(cvc):
        problems.append({"field": fields[2], "message": "The CVC must be 3 or 4 digits."})
    if problems:
        raise InvalidCard("The card is invalid.", details=problems)
    return Card(number=number, exp_month=month, exp_year=year, cvc=cvc)

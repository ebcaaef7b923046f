"""The route converter for resource ids: exactly 1..2**31-1, written without leading zeros."""

from __future__ import annotations

import re

import pytest

from services.gateway.api import IdConverter, decimal_range_regex


@pytest.mark.parametrize("limit", [1, 7, 9, 10, 19, 20, 99, 100, 101, 509, 1000, 2024])
def test_the_range_regex_matches_exactly_1_to_the_limit_for_every_number_up_to_past_it(limit):
    pattern = re.compile(decimal_range_regex(limit))

    matched = [n for n in range(0, limit * 3 + 20) if pattern.fullmatch(str(n))]

    assert matched == list(range(1, limit + 1))


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("1", True),
        ("2147483647", True),
        ("2147483646", True),
        ("2147483639", True),
        ("1999999999", True),
        ("999999999", True),
        ("2147483648", False),
        ("2147483650", False),
        ("2147484000", False),
        ("3000000000", False),
        ("21474836470", False),
        ("0", False),
        ("00", False),
        ("01", False),
        ("-1", False),
        ("+1", False),
        ("1e3", False),
        ("", False),
    ],
)
def test_the_id_converter_accepts_exactly_the_ids_1_to_2_pow_31_minus_1(text, matches):
    assert (re.fullmatch(IdConverter.regex, text) is not None) is matches

"""The shared contract rules: paging bounds, the idempotency key, free text without control characters."""

from __future__ import annotations

from typing import Annotated

import pytest
from werkzeug.datastructures import Headers

from services.common.contract import (
    MAX_OFFSET,
    InvalidIdempotencyKey,
    PageQuery,
    free_text,
    idempotency_key,
    one_line,
)
from services.common.errors import InvalidInput
from services.common.validation import Strict, parse, parse_query


def test_a_page_is_20_items_from_the_start_unless_asked():
    assert parse_query(PageQuery, {}).model_dump() == {"limit": 20, "offset": 0}


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"offset": "-1"}, {"offset": str(MAX_OFFSET + 1)}])
def test_a_page_outside_the_bounds_is_invalid_input(query):
    with pytest.raises(InvalidInput):
        parse_query(PageQuery, query)


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "del\x7f"])
def test_an_idempotency_key_must_be_1_to_255_printable_ascii_characters(key):
    with pytest.raises(InvalidIdempotencyKey) as raised:
        idempotency_key(Headers({"Idempotency-Key": key}))

    assert (raised.value.status, raised.value.code) == (422, "invalid_idempotency_key")


def test_an_absent_idempotency_key_is_none_and_a_good_one_is_kept():
    assert idempotency_key(Headers()) is None
    assert idempotency_key(Headers({"Idempotency-Key": "order 1 ~ok"})) == "order 1 ~ok"


class Note(Strict):
    title: Annotated[str, one_line(10)]
    body: Annotated[str, free_text(50)] = ""


def test_text_is_stripped_and_may_break_lines_only_where_it_is_free_text():
    note = parse(Note, {"title": "  Hi  ", "body": "a\n\tb"})

    assert (note.title, note.body) == ("Hi", "a\n\tb")
    for bad in ({"title": "a\nb"}, {"title": "nul\x00"}, {"title": "ok", "body": "bell\x07"}, {"title": "   "}):
        with pytest.raises(InvalidInput):
            parse(Note, bad)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\x9b"])
def test_no_text_field_takes_a_c0_del_or_c1_control_character(char):
    for bad in ({"title": f"a{char}b"}, {"title": "ok", "body": f"a{char}b"}):
        with pytest.raises(InvalidInput):
            parse(Note, bad)


def test_text_beyond_the_control_characters_is_welcome():
    note = parse(Note, {"title": "Ñandú ½ €", "body": "ÿ \u00a0 \u2028 ok"})

    assert (note.title, note.body) == ("Ñandú ½ €", "ÿ \u00a0 \u2028 ok")

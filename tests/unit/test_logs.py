import logging

import pytest

from telemetry.logs import REDACTED, redact, redact_text


def test_every_line_is_json_with_the_contract_fields_in_order(harness):
    harness.client.get("/items/3", headers={"X-Request-ID": "req-1"})
    records = harness.logs()
    line = next(r for r in records if r["message"] == "item looked up")
    assert list(line)[:8] == [
        "timestamp",
        "level",
        "logger",
        "message",
        "service",
        "request_id",
        "trace_id",
        "span_id",
    ]
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert line["level"] == "INFO"
    assert line["service"] == "sample"
    assert line["request_id"] == "req-1"
    assert line["item_id"] == 3 and line["event"] == "item.viewed"


def test_log_lines_carry_the_trace_and_span_of_the_request(harness):
    harness.client.get("/items/3")
    (span,) = harness.spans()
    for line in (r for r in harness.logs() if r["request_id"]):
        assert line["trace_id"] == format(span.context.trace_id, "032x")
        assert line["span_id"] == format(span.context.span_id, "016x")


def test_each_request_writes_one_access_line_with_route_status_duration_and_bytes(harness):
    response = harness.client.get("/items/3")
    (line,) = harness.access_logs()
    assert line["method"] == "GET"
    assert line["route"] == "/items/<int:item_id>"
    assert line["path"] == "/items/3"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["bytes"] == len(response.data)
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_probe_access_lines_are_written_at_debug(harness):
    harness.client.get("/health/live")
    harness.client.get("/metrics")
    assert harness.access_logs() == []  # LOG_LEVEL=INFO hides them


def test_probe_access_lines_appear_when_the_level_is_debug(monkeypatch):
    from tests.support.sample_harness import Harness

    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    h = Harness()
    h.client.get("/health/live")
    (line,) = h.access_logs()
    assert line["level"] == "DEBUG" and line["path"] == "/health/live"
    logging.getLogger().setLevel(logging.INFO)


def test_an_unhandled_exception_is_logged_once_with_its_traceback(harness):
    harness.client.get("/boom")
    errors = [r for r in harness.logs() if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["error_type"] == "RuntimeError"
    assert "Traceback (most recent call last)" in errors[0]["traceback"]
    assert "something broke inside" in errors[0]["traceback"]
    assert errors[0]["trace_id"] == format(harness.spans()[0].context.trace_id, "032x")


def test_secrets_in_log_fields_are_redacted_at_any_depth(harness):
    harness.client.post("/login")
    line = next(r for r in harness.logs() if r["message"] == "login attempt")
    assert line["password"] == REDACTED
    assert line["body"] == {"token": REDACTED}
    assert "hunter22" not in harness.stream.getvalue()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login with password=hunter22 failed", "hunter22"),
        ('payload {"card_number": "4242424242424242", "cvc": "123"}', "4242424242424242"),
        ('payload {"cvc": "987"}', "987"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "eyJhbGciOi"),
        ("charged card 4000 0000 0000 0002 ok", "4000 0000 0000 0002"),
        ("token=abc.def&next=/", "abc.def"),
    ],
)
def test_secrets_inside_message_text_are_masked(text, secret):
    assert secret not in redact_text(text)


def test_card_numbers_keep_only_their_last_four_digits():
    assert redact_text("card 4242424242424242 declined") == "card ****4242 declined"


def test_redaction_leaves_ordinary_values_alone():
    value = {"order_id": 12, "items": [{"product_id": 3, "quantity": 2}], "note": "ship by 2026-12-01"}
    assert redact(value) == value


def test_credential_keys_are_recognised_in_any_case_and_with_dashes():
    assert redact({"Authorization": "x", "X-Api-Key": "y", "api-key": "z", "refresh_token": "t"}) == {
        "Authorization": REDACTED,
        "X-Api-Key": REDACTED,
        "api-key": REDACTED,
        "refresh_token": REDACTED,
    }

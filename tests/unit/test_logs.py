import logging

from telemetry.logs import REDACTED


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

import io
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext

import telemetry.logs
from telemetry import requestid
from telemetry.logs import (
    ACCESS_LOGGER,
    REDACTED,
    JsonFormatter,
    _TelemetryHandler,
    configure_logging,
    direct_handler,
)


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


@pytest.fixture(params=["direct", "through logging"])
def access_path(request, harness, monkeypatch):
    """Both ways an access line is written: directly by the handler, or through logging (pytest's own capture
    handlers on the root logger send it that way, as any other handler would)."""
    root = logging.getLogger()
    if request.param == "direct":
        monkeypatch.setattr(root, "handlers", [h for h in root.handlers if type(h) is _TelemetryHandler])
    expected = root.handlers[0] if request.param == "direct" else None
    assert direct_handler(logging.getLogger(ACCESS_LOGGER), logging.INFO) is expected
    return request.param


def test_each_request_writes_one_access_line_with_route_status_duration_and_bytes(harness, access_path):
    response = harness.client.get("/items/3")
    (line,) = harness.access_logs()
    assert line["method"] == "GET"
    assert line["route"] == "/items/<int:item_id>"
    assert line["path"] == "/items/3"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["bytes"] == len(response.data)
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_probe_access_lines_are_written_at_debug(harness, access_path):
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


_CONTEXT = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=False)


@pytest.mark.parametrize(
    ("level", "method", "route", "path", "status", "size", "context", "request_id"),
    [
        (logging.INFO, "GET", "/items/<int:item_id>", "/items/42", 200, 88, _CONTEXT, "req-1"),
        (logging.DEBUG, "GET", "/health/live", "/health/live", 200, 2, INVALID_SPAN_CONTEXT, None),
        (logging.INFO, "PURGE", "unmatched", '/a"b\\c\x01d\u00e9\u2028', 404, None, _CONTEXT, "r"),
        (logging.INFO, "GET", "unmatched", "/reset/password=hunter22", 404, 10, _CONTEXT, "r"),
        (logging.INFO, "GET", "unmatched", "/cards/4242 4242 4242 4242", 404, 10, _CONTEXT, "r"),
        (logging.INFO, "POST", "/users/<token>/a", "/users/eyJhbGciOi.eyJzdWIi.sig/a", 500, 0, _CONTEXT, "r"),
        (logging.INFO, "GET", "/orders/<int:order_id>", "/orders/1234567890123", 200, 5, _CONTEXT, "r"),
    ],
)
def test_the_direct_access_line_is_the_line_logging_would_write(
    monkeypatch, level, method, route, path, status, size, context, request_id
):
    formatter = JsonFormatter("shop")
    created = 1764650000.123456
    record = logging.getLogger(ACCESS_LOGGER).makeRecord(
        ACCESS_LOGGER,
        level,
        __file__,
        1,
        "%s %s %s",
        (method, path, status),
        None,
        extra={
            "event": "http.access",
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": 12.345,
            "bytes": size,
        },
    )
    record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
    token = requestid.set_current(request_id)
    try:
        with trace.use_span(NonRecordingSpan(context)):
            expected = formatter.format(record)
        monkeypatch.setattr(telemetry.logs.time, "time", lambda: created)
        direct = formatter.access_line(record.levelname, method, route, path, status, 12.345, size, context)
    finally:
        requestid.reset(token)
    assert direct == expected


def _access_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if '"http.access"' in line]


def test_the_access_line_goes_through_logging_when_another_handler_listens(harness, access_path):
    seen = []
    listener = logging.Handler()
    listener.emit = seen.append
    logging.getLogger(ACCESS_LOGGER).addHandler(listener)
    try:
        harness.client.get("/items/3")
    finally:
        logging.getLogger(ACCESS_LOGGER).removeHandler(listener)
    assert [r.getMessage() for r in seen] == ["GET /items/3 200"]
    assert [line["path"] for line in _access_lines(harness.stream)] == ["/items/3"]


def test_a_filter_on_the_access_logger_is_honoured(harness, access_path):
    access = logging.getLogger(ACCESS_LOGGER)
    access.addFilter(lambda record: record.path != "/items/3")
    try:
        harness.client.get("/items/3")
        harness.client.get("/items/4")
    finally:
        access.filters.clear()
    assert [line["path"] for line in _access_lines(harness.stream)] == ["/items/4"]


def test_the_direct_handler_is_only_the_configured_one(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # without pytest's capture handlers
    handler = configure_logging("shop", "INFO", io.StringIO())
    access = logging.getLogger(ACCESS_LOGGER)
    assert direct_handler(access, logging.INFO) is handler
    assert direct_handler(access, logging.DEBUG) is None  # below the level
    handler.addFilter(logging.Filter("nothing"))
    assert direct_handler(access, logging.INFO) is None
    handler.filters = list(handler.own_filters)
    access.propagate = False
    try:
        assert direct_handler(access, logging.INFO) is None
    finally:
        access.propagate = True
    root.addHandler(logging.NullHandler())
    assert direct_handler(access, logging.INFO) is None
    root.handlers = []
    assert direct_handler(access, logging.INFO) is None

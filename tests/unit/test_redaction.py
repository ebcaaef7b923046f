import io
import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from telemetry.config import TelemetryConfig
from telemetry.logs import JsonFormatter
from telemetry.metrics import HttpMetrics
from telemetry.otlp import OTLPSpanExporter
from telemetry.redaction import (
    REDACTED,
    RedactingSpanExporter,
    is_sensitive,
    redact,
    redact_attribute,
    redact_query,
    redact_span,
    redact_text,
)
from telemetry.tracing import setup_tracing

ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJhZG1pbiJ9"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
SQLALCHEMY_ERROR = (
    "(psycopg.DataError) PostgreSQL text fields cannot contain NUL (0x00) bytes\n"
    "[SQL: INSERT INTO users (email, password_hash, name) VALUES (%(email)s, %(password_hash)s, %(name)s)]\n"
    f"[parameters: {{'email': 'ana@example.com', 'password_hash': '{ARGON2_HASH}', 'name': 'Ana\\x00'}}]"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (SQLALCHEMY_ERROR, ARGON2_HASH),
        (SQLALCHEMY_ERROR, "c2FsdHNhbHQ"),
        (f"token_hash={ARGON2_HASH}", "c2FsdHNhbHQ"),
        (f"the caller sent {JWT} as is", JWT.split(".")[0]),
        (f"the caller sent {JWT} as is", JWT.split(".")[2]),
        ("card 4242 4242 4242 4242 declined", "4242 4242 4242 4242"),
        ("card 4242-4242-4242-4242 declined", "4242-4242-4242"),
        ("card 4242  4242  4242  4242 declined", "4242  4242"),
        ("card 4242 - 4242 - 4242 - 4242 declined", "4242 - 4242"),
        ("amex 3782 822463 10005 declined", "822463"),
        ("card 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2 declined", "4 2 4 2 4 2 4 2"),
        ("{'password': 'correct horse battery'}", "horse"),
        ('{"password": "correct horse, battery"}', "battery"),
        ("{'cvc': '123', 'amount': 5}", "'123'"),
        ("cvv=987 ok", "987"),
        ("access_token: abc.def.ghi", "abc.def"),
        ("X-Api-Key: k-1234", "k-1234"),
        ("{'password_hash': b'raw hash bytes'}", "raw hash"),
        ("login with password=hunter22 failed", "hunter22"),
        ('payload {"card_number": "4242424242424242", "cvc": "123"}', "4242424242424242"),
        ('payload {"cvc": "987"}', "987"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "eyJhbGciOi"),
        ("charged card 4000 0000 0000 0002 ok", "4000 0000 0000 0002"),
        ("token=abc.def&next=/", "abc.def"),
    ],
)
def test_secrets_in_free_text_are_masked(text, secret):
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


def test_a_quoted_password_with_spaces_is_masked_whole():
    assert redact_text("{'password': 'correct horse'}") == f"{{'password': '{REDACTED}'}}"


def test_the_sqlalchemy_error_keeps_its_other_parameters_and_loses_the_hash():
    text = redact_text(SQLALCHEMY_ERROR)
    assert f"'password_hash': '{REDACTED}'" in text
    assert "'email': 'ana@example.com'" in text and "'name': 'Ana\\x00'" in text
    assert "INSERT INTO users (email, password_hash, name)" in text


def test_a_bare_jwt_is_masked_without_a_key_before_it():
    assert redact_text(f"got {JWT}.") == f"got {REDACTED}."


def test_a_card_number_keeps_its_last_four_digits_however_it_is_grouped():
    assert redact_text("card 4000 - 0000 - 0000 - 0002 ok") == "card ****0002 ok"


def test_text_that_only_looks_like_a_key_is_left_alone():
    text = "tokens=3 hashes=4 order 12 of 2026-12-01 for 3 items"
    assert redact_text(text) == text


def test_names_ending_in_hash_are_sensitive_fields():
    assert is_sensitive("password_hash") and is_sensitive("Token-Hash")
    assert redact({"user": {"password_hash": ARGON2_HASH, "name": "Ana"}}) == {
        "user": {"password_hash": REDACTED, "name": "Ana"}
    }


def _log_line(message, *args, exc_info=None, **extra):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error(message, *args, exc_info=exc_info, extra=extra)
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_a_log_line_masks_its_message_args_extra_fields_and_traceback():
    try:
        raise ValueError(SQLALCHEMY_ERROR)
    except ValueError as exc:
        line = _log_line(
            "registration failed for %s with %r",
            JWT,
            {"password": "correct horse"},
            exc_info=exc,
            request={"body": [{"card": "4242 4242 4242 4242", "nested": {"cvc": "123"}}], "detail": SQLALCHEMY_ERROR},
            user_password_hash=ARGON2_HASH,
        )
    record = json.loads(line)
    for secret in (ARGON2_HASH, "c2FsdHNhbHQ", JWT.split(".")[1], "horse", "4242 4242", '"123"'):
        assert secret not in line
    assert record["request"]["body"][0] == {"card": "****4242", "nested": {"cvc": REDACTED}}
    assert record["user_password_hash"] == REDACTED
    assert "ValueError" in record["traceback"]


def _spans_through_redaction():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory)))
    return provider.get_tracer("tests"), memory


def test_exported_span_attributes_are_redacted():
    tracer, memory = _spans_through_redaction()
    with tracer.start_as_current_span("op") as span:
        span.set_attributes(
            {
                "user.password_hash": ARGON2_HASH,
                "http.request.header.authorization": ("Bearer " + JWT,),
                "db.statement": "SELECT 1 -- password='correct horse'",
                "payment.card": "4242 4242 4242 4242",
                "order.id": 12,
            }
        )
    (exported,) = memory.get_finished_spans()
    assert exported.attributes == {
        "user.password_hash": REDACTED,
        "http.request.header.authorization": REDACTED,
        "db.statement": f"SELECT 1 -- password='{REDACTED}'",
        "payment.card": "****4242",
        "order.id": 12,
    }


def test_a_list_attribute_keeps_its_clean_values_and_masks_the_one_holding_a_jwt():
    clean = ("req-1", "req-2")
    assert redact_attribute("http.request.header.x-forwarded-for", clean) is clean
    assert redact_attribute("http.request.header.x-note", ("req-1", f"Bearer {JWT}")) == ("req-1", f"Bearer {REDACTED}")


def test_exception_events_and_the_status_description_are_redacted_before_export():
    tracer, memory = _spans_through_redaction()
    with pytest.raises(ValueError), tracer.start_as_current_span("op"):  # the SDK records it and sets the status
        raise ValueError(SQLALCHEMY_ERROR)
    (exported,) = memory.get_finished_spans()
    (event,) = exported.events
    assert event.name == "exception"
    assert f"'password_hash': '{REDACTED}'" in event.attributes["exception.message"]
    for text in (event.attributes["exception.message"], event.attributes["exception.stacktrace"]):
        assert ARGON2_HASH not in text and "c2FsdHNhbHQ" not in text
    assert exported.status.status_code is StatusCode.ERROR
    assert "c2FsdHNhbHQ" not in exported.status.description


def test_a_span_event_with_a_jwt_is_redacted():
    tracer, memory = _spans_through_redaction()
    with tracer.start_as_current_span("op") as span:
        span.add_event("token issued", {"note": f"issued {JWT}", "user.id": 3})
        span.set_status(Status(StatusCode.ERROR, f"rejected {JWT}"))
    (exported,) = memory.get_finished_spans()
    assert exported.events[0].attributes == {"note": f"issued {REDACTED}", "user.id": 3}
    assert exported.status.description == f"rejected {REDACTED}"


def test_a_span_with_nothing_to_mask_is_exported_as_it_is():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("tests").start_as_current_span("op") as span:
        span.set_attributes({"url.path": "/items/42", "tienda.request_id": ("r-1",)})
        span.add_event("looked up", {"item.id": 42})
    (finished,) = memory.get_finished_spans()
    assert redact_span(finished) is finished


@pytest.mark.parametrize(
    ("env", "redacts"),
    [
        ({}, lambda exporter: isinstance(exporter, OTLPSpanExporter) and exporter._encoder.redact),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, lambda exporter: isinstance(exporter, RedactingSpanExporter)),
        ({"OTEL_TRACES_EXPORTER": "console"}, lambda exporter: isinstance(exporter, RedactingSpanExporter)),
    ],
    ids=["otlp-http", "otlp-grpc", "console"],
)
def test_every_configured_exporter_redacts_what_it_sends(env, redacts):
    provider = setup_tracing(TelemetryConfig.from_env("x", env=env), HttpMetrics("x", "0"))
    try:
        (processor,) = provider._active_span_processor._span_processors
        assert redacts(processor.span_exporter.exporter)
    finally:
        provider.shutdown()


def test_sensitive_query_parameters_lose_their_values():
    query = "color=red&access_token=abc&Password=correct+horse&q=4242424242424242&next=%2F"
    assert redact_query(query) == f"color=red&access_token={REDACTED}&Password={REDACTED}&q=****4242&next=%2F"


def test_the_server_span_carries_the_query_without_sensitive_values(harness):
    harness.client.get(f"/items/42?color=red&token={JWT}&api-key=k1&password_hash=x")
    (span,) = harness.spans()
    assert span.attributes["url.query"] == f"color=red&token={REDACTED}&api-key={REDACTED}&password_hash={REDACTED}"


def test_metric_labels_carry_route_templates_and_never_what_the_path_or_query_held(harness):
    harness.client.get("/items/4242424242424242?password=hunter22")
    harness.client.get(f"/reset/{JWT}?token=hunter22")
    body, _ = harness.telemetry.metrics.exposition(None)
    exposition = body.decode()
    assert 'route="/items/<int:item_id>"' in exposition
    for secret in ("4242424242424242", "hunter22", JWT.split(".")[0], "/reset"):
        assert secret not in exposition

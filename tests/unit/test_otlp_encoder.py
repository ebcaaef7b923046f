"""telemetry.otlp writes the OTLP protobuf the SDK encoder writes: decoded with opentelemetry-proto, field by field."""

import logging

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from telemetry.otlp import OTLPSpanExporter, SpanEncoder, _span_attributes, encode_spans
from telemetry.redaction import REDACTED, redact_span
from tests.support.otlp import OtlpReceiver

REMOTE = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C,
    0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "value"), ("other", "x")]),
)


def _finished_spans() -> list[ReadableSpan]:
    """Spans of every shape the shop makes, from two providers (two resources) and three scopes."""
    memory = InMemorySpanExporter()
    spans: list[ReadableSpan] = []
    for service in ("orders", "payments"):
        provider = TracerProvider(resource=Resource.create({"service.name": service, "process.pid": 4242}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        server = provider.get_tracer("tienda.telemetry", "0.1.0")
        library = provider.get_tracer("sqlalchemy", schema_url="https://opentelemetry.io/schemas/1.11.0")
        root = server.start_span(
            "GET /items/<int:item_id>",
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "GET",
                "url.path": "/items/42",
                "http.request.header.x-request-id": ("req-1",),
                "http.response.status_code": 200,
            },
        )
        with trace.use_span(root, end_on_exit=True):
            query = library.start_span("SELECT orders", kind=SpanKind.CLIENT, attributes={"db.system": "sqlite"})
            query.add_event("retry", {"attempt": 2, "delay_seconds": 0.25})
            query.end()
        remote_child = server.start_span(
            "POST /payments",
            context=trace.set_span_in_context(trace.NonRecordingSpan(REMOTE)),
            kind=SpanKind.SERVER,
            links=[Link(REMOTE, {"link.reason": "retry"}), Link(root.get_span_context())],
            attributes={
                "negative": -7,
                "huge": 2**62,
                "zero": 0,
                "flag": False,
                "ratio": 0.5,
                "empty": "",
                "ints": [1, 2, 3],
                "names": ["a", "ü", ""],
                "bools": [True, False],
                "floats": [1.5, -0.0],
            },
        )
        remote_child.record_exception(ValueError("card declined"))
        remote_child.add_event("no attributes")
        remote_child.set_status(Status(StatusCode.ERROR, "payment failed"))
        remote_child.end()
        ok = server.start_span("consume", kind=SpanKind.CONSUMER)
        ok.set_status(Status(StatusCode.OK))
        ok.end()
        for kind in (SpanKind.INTERNAL, SpanKind.PRODUCER):
            server.start_span(kind.name.lower(), kind=kind).end()
    spans.extend(memory.get_finished_spans())
    return spans


def _decoded(data: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    return request


def test_the_encoded_request_decodes_to_the_sdk_encoders_message_field_by_field():
    spans = _finished_spans()
    ours = _decoded(encode_spans(spans))
    sdk = sdk_encode_spans(spans)
    assert len(ours.resource_spans) == len(sdk.resource_spans) == 2
    for our_rs, sdk_rs in zip(ours.resource_spans, sdk.resource_spans, strict=True):
        assert MessageToDict(our_rs.resource) == MessageToDict(sdk_rs.resource)
        assert our_rs.schema_url == sdk_rs.schema_url
        assert sorted(s.scope.name for s in our_rs.scope_spans) == ["sqlalchemy", "tienda.telemetry"]
        for our_ss, sdk_ss in zip(our_rs.scope_spans, sdk_rs.scope_spans, strict=True):
            assert MessageToDict(our_ss.scope) == MessageToDict(sdk_ss.scope)
            assert our_ss.schema_url == sdk_ss.schema_url
            assert len(our_ss.spans) == len(sdk_ss.spans)
            for our, theirs in zip(our_ss.spans, sdk_ss.spans, strict=True):
                for descriptor in theirs.DESCRIPTOR.fields:
                    name = descriptor.name
                    assert getattr(our, name) == getattr(theirs, name), f"{theirs.name}: field {name} differs"
    assert ours == sdk


def test_the_encoded_bytes_are_those_the_sdk_serialises():
    spans = _finished_spans()
    assert encode_spans(spans) == sdk_encode_spans(spans).SerializeToString()


def test_span_fields_carry_ids_kind_status_flags_events_and_links():
    spans = _finished_spans()
    request = _decoded(encode_spans(spans))
    by_name = {s.name: s for rs in request.resource_spans[:1] for ss in rs.scope_spans for s in ss.spans}
    payment = by_name["POST /payments"]
    assert payment.parent_span_id.hex() == "b7ad6b7169203331"
    assert payment.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert payment.trace_state == "vendor=value,other=x"
    assert payment.kind == 2  # SPAN_KIND_SERVER
    assert payment.flags == 0x300  # the parent is remote, and that is known
    assert (payment.status.code, payment.status.message) == (2, "payment failed")
    assert [e.name for e in payment.events] == ["exception", "no attributes"]
    assert payment.links[0].span_id.hex() == "b7ad6b7169203331" and payment.links[0].flags == 0x300
    attributes = {kv.key: kv.value for kv in payment.attributes}
    assert attributes["negative"].int_value == -7
    assert attributes["zero"].HasField("int_value") and attributes["flag"].HasField("bool_value")
    assert [v.string_value for v in attributes["names"].array_value.values] == ["a", "ü", ""]
    root = by_name["GET /items/<int:item_id>"]
    assert root.parent_span_id == b"" and root.flags == 0x100 and root.status.code == 0
    assert by_name["consume"].kind == 5 and by_name["internal"].kind == 1 and by_name["consume"].status.code == 1


def test_values_outside_span_attribute_types_are_mapped_like_the_sdk_does():
    """None, nested mappings and bytes reach the encoder from ReadableSpans built by hand or by libraries."""
    context = SpanContext(1, 2, is_remote=False)
    span = ReadableSpan(
        name="by hand",
        context=context,
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("hand"),
        attributes={"nothing": None, "map": {"a": 1, "b": ["x"]}, "raw": b"\x00\xff", "big": -(2**63)},
        start_time=1,
        end_time=2,
    )
    assert _decoded(encode_spans([span])) == sdk_encode_spans([span])


def test_an_attribute_that_cannot_be_encoded_is_left_out_and_logged_like_the_sdk_does(caplog):
    span = ReadableSpan(
        name="overflow",
        context=SpanContext(1, 2, is_remote=False),
        resource=Resource.create({}),
        attributes={"too_big": 2**64, "kept": "yes"},
        start_time=1,
        end_time=2,
    )
    with caplog.at_level(logging.ERROR, logger="telemetry.otlp"):
        request = _decoded(encode_spans([span]))
    (decoded,) = request.resource_spans[0].scope_spans[0].spans
    assert [kv.key for kv in decoded.attributes] == ["kept"]
    assert any("too_big" in r.getMessage() for r in caplog.records)


def test_an_encoder_reused_across_batches_gives_each_batch_its_own_complete_request():
    spans = _finished_spans()
    encoder = SpanEncoder()
    first, second = encoder.encode(spans[:3]), encoder.encode(spans[3:])
    assert _decoded(first) == sdk_encode_spans(spans[:3])
    assert _decoded(second) == sdk_encode_spans(spans[3:])


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"


def _spans_with_secrets() -> list[ReadableSpan]:
    """Server spans whose attributes, events and status hold credentials, beside ones that hold none."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "users"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tienda.telemetry")
    for n in range(3):  # repeated values: the second and third spans meet the encoder's cache
        span = tracer.start_span(
            "POST /login",
            kind=SpanKind.SERVER,
            attributes={
                "url.path": "/login",
                "url.query": f"next=%2F&token={JWT}",
                "http.request.header.authorization": (f"Bearer {JWT}",),
                "user.password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                "payment.card": "4242 4242 4242 4242",
                "tienda.request_id": (f"req-{n}",),
                "http.response.status_code": 401,
                "order.id": 12,
            },
        )
        span.add_event("exception", {"exception.message": "login failed for password='correct horse'"})
        span.set_status(Status(StatusCode.ERROR, f"rejected {JWT}"))
        span.end()
    return [*memory.get_finished_spans(), *_finished_spans()]


def test_the_redacting_encoder_sends_each_span_as_redaction_leaves_it():
    spans = _spans_with_secrets()
    encoder = SpanEncoder(redact=True)
    expected = sdk_encode_spans([redact_span(span) for span in spans])
    for _ in range(2):  # the second time every string and int attribute comes from the cache
        data = encoder.encode(spans)
        assert _decoded(data) == expected
        for secret in (JWT, "c2FsdA", "correct horse", b"4242 4242"):
            assert (secret if isinstance(secret, bytes) else secret.encode()) not in data
    assert _decoded(SpanEncoder().encode(spans)) == sdk_encode_spans(spans)  # without redact: as given


def test_an_sdk_spans_attributes_are_read_from_the_dict_the_sdk_keeps_them_in():
    span = next(s for s in _finished_spans() if s.attributes)
    attributes = _span_attributes(span)
    assert type(attributes) is dict, "the SDK moved a span's attributes: telemetry.otlp reads them the slow way"
    assert attributes == dict(span.attributes)


@pytest.fixture
def receiver():
    server = OtlpReceiver().start()
    yield server
    server.stop()


def test_the_exporter_posts_the_encoded_spans_to_the_collector(receiver):
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    assert exporter.fast_path, "the SDK's HTTP client moved: telemetry.otlp falls back to the SDK's encoder"
    spans = _finished_spans()
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    received = receiver.wait_for(lambda got: len(got) == len(spans))
    assert {s.name for s in received} == {s.name for s in spans}
    payment = next(s for s in received if s.name == "POST /payments" and s.service == "orders")
    assert payment.status == "ERROR" and payment.attributes["names"] == ["a", "ü", ""]
    exporter.shutdown()


def test_the_redacting_exporter_posts_no_credential_to_the_collector(receiver):
    exporter = OTLPSpanExporter(redact=True, endpoint=f"{receiver.endpoint}/v1/traces")
    spans = _spans_with_secrets()[:3]
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    received = receiver.wait_for(lambda got: len(got) == 3)
    for span in received:
        assert span.attributes["http.request.header.authorization"] == REDACTED
        assert span.attributes["user.password_hash"] == REDACTED
        assert span.attributes["payment.card"] == "****4242"
        assert span.attributes["url.query"] == f"next=%2F&token={REDACTED}"
        assert span.event_attributes[0]["exception.message"] == f"login failed for password='{REDACTED}'"
        assert span.status_message == f"rejected {REDACTED}"
    exporter.shutdown()


def test_the_exporter_reports_failure_when_the_collector_is_unreachable(receiver):
    port = receiver.port
    receiver.stop()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=1)
    assert exporter.export(_finished_spans()[:1]) is SpanExportResult.FAILURE
    exporter.shutdown()

import io
import json
import threading

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

from telemetry.config import TelemetryConfig
from telemetry.metrics import HttpMetrics
from telemetry.tracing import (
    AccountingBatchSpanProcessor,
    AccountingSpanExporter,
    build_resource,
    setup_tracing,
)


class RecordingExporter(SpanExporter):
    def __init__(self, result=SpanExportResult.SUCCESS, gate: threading.Event | None = None):
        self.result = result
        self.gate = gate
        self.exported = []

    def export(self, spans):
        if self.gate is not None:
            self.gate.wait(5)
        self.exported.extend(spans)
        return self.result

    def shutdown(self):
        pass


def _metrics():
    return HttpMetrics("svc", "1.0", CollectorRegistry())


def _dropped(metrics, reason):
    return metrics.registry.get_sample_value("tienda_telemetry_spans_dropped_total", {"reason": reason})


def test_spans_beyond_a_full_queue_are_dropped_and_counted():
    metrics = _metrics()
    gate = threading.Event()  # holds the exporter so the queue cannot drain
    exporter = RecordingExporter(gate=gate)
    processor = AccountingBatchSpanProcessor(
        exporter, metrics, max_queue_size=8, max_export_batch_size=8, schedule_delay_millis=60_000
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    for _ in range(8):  # fills the queue; reaching the batch size wakes the worker, which blocks on the gate
        tracer.start_span("fill").end()
    for _ in range(50):
        tracer.start_span("overflow").end()
    gate.set()
    provider.shutdown()
    assert _dropped(metrics, "queue_full") >= 42
    assert len(exporter.exported) <= 16


def test_failed_exports_are_counted_and_warned_about_once_per_interval(caplog):
    metrics = _metrics()
    exporter = AccountingSpanExporter(RecordingExporter(SpanExportResult.FAILURE), metrics, warn_interval_seconds=60)
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    spans = [tracer.start_span(f"s{i}") for i in range(3)]
    for s in spans:
        s.end()
    with caplog.at_level("WARNING", logger="telemetry.tracing"):
        for _ in range(20):
            assert exporter.export(spans) is SpanExportResult.FAILURE
    assert _dropped(metrics, "export_failed") == 60
    assert len([r for r in caplog.records if r.name == "telemetry.tracing"]) == 1


def test_delivered_spans_are_counted():
    metrics = _metrics()
    exporter = AccountingSpanExporter(RecordingExporter(), metrics)
    span = TracerProvider().get_tracer("t").start_span("x")
    span.end()
    exporter.export([span, span])
    assert metrics.registry.get_sample_value("tienda_telemetry_spans_exported_total") == 2


def test_the_resource_names_the_service_version_and_environment():
    config = TelemetryConfig.from_env("payments", env={"SERVICE_VERSION": "1.2.3", "TIENDA_ENV": "production"})
    attributes = build_resource(config).attributes
    assert attributes["service.name"] == "payments"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["deployment.environment.name"] == "production"


def test_sdk_disabled_builds_no_provider_and_the_app_still_serves(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    config = TelemetryConfig.from_env("x")
    assert setup_tracing(config, _metrics()) is None

    from tests.sample.app import create_app

    stream = io.StringIO()
    app = create_app(registry=CollectorRegistry(), log_stream=stream)
    response = app.test_client().get("/items/1")
    assert response.status_code == 200 and response.headers["X-Request-ID"]
    access = [json.loads(line) for line in stream.getvalue().splitlines() if '"http.access"' in line]
    assert access[0]["trace_id"] is None and access[0]["request_id"] == response.headers["X-Request-ID"]


def _exporter_of(provider):
    """The OTLP exporter behind the accounting (and, but for OTLP/HTTP, which redacts itself, the redaction)."""
    (processor,) = provider._active_span_processor._span_processors
    exporter = processor.span_exporter.exporter
    return getattr(exporter, "exporter", exporter)


def test_the_exporter_speaks_http_protobuf_by_default_and_grpc_when_the_protocol_says_so(monkeypatch):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    http_provider = setup_tracing(TelemetryConfig.from_env("x", env={}), _metrics())
    grpc_provider = setup_tracing(
        TelemetryConfig.from_env("x", env={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}), _metrics()
    )
    try:
        assert isinstance(_exporter_of(http_provider), HttpExporter)
        assert isinstance(_exporter_of(grpc_provider), GrpcExporter)
    finally:
        http_provider.shutdown()
        grpc_provider.shutdown()

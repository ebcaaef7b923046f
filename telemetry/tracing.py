"""Traces: the TracerProvider, the OTLP exporter, sampling, and delivery accounting.

:func:`setup_tracing` builds one :class:`~opentelemetry.sdk.trace.TracerProvider` per process with

* a resource carrying ``service.name``, ``service.version``, ``deployment.environment.name`` plus whatever
  ``OTEL_RESOURCE_ATTRIBUTES`` adds;
* the sampler named by ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (the SDK reads them; the default
  is ``parentbased_always_on``, so an incoming sampled ``traceparent`` is always honoured);
* an OTLP exporter configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables: HTTP/protobuf to
  ``http://localhost:4318/v1/traces`` by default, gRPC to 4317 when ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``;
* redaction (:mod:`telemetry.redaction`): attributes, events (exception messages and stack traces included)
  and status descriptions leave the process redacted, by the OTLP/HTTP encoder as it encodes
  (:mod:`telemetry.otlp`), or by :class:`~telemetry.redaction.RedactingSpanExporter` in front of the gRPC
  and console exporters;
* a batch span processor. Unless ``OTEL_BSP_*`` say otherwise it flushes every 500 ms in batches of at
  most 256 spans: small batches keep the exporter thread's protobuf encoding (which holds the GIL) short,
  so request threads are not stalled behind it, which is what shows up in p99. The queue holds 4096 spans;
  past that new spans are dropped rather than growing memory.

Delivery is accounted for in Prometheus: ``tienda_telemetry_spans_exported_total`` and
``tienda_telemetry_spans_dropped_total{reason="queue_full"|"export_failed"}``. When the collector is down,
requests keep their latency (export happens on the processor's thread), memory stays bounded by the
queue, and the log gets one warning per minute instead of one per batch.

``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turns tracing off: spans become no-ops, no
thread is started and nothing is exported.

Fork safety: the provider must be created in the process that serves requests. Under gunicorn the
project's ``gunicorn.conf.py`` keeps ``preload_app`` off, so ``create_app()``, and with it this function,
runs in each worker after the fork, never in the master.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)

from .config import TelemetryConfig
from .metrics import HttpMetrics
from .redaction import RedactingSpanExporter

logger = logging.getLogger(__name__)

#: Instrumentation scope of the spans this package makes.
SCOPE = "tienda.telemetry"

# Defaults used only when the matching OTEL_BSP_* variable is unset (see the module docstring).
_BSP_DEFAULTS = {
    "OTEL_BSP_SCHEDULE_DELAY": ("schedule_delay_millis", 500),
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": ("max_export_batch_size", 256),
    "OTEL_BSP_MAX_QUEUE_SIZE": ("max_queue_size", 4096),
    "OTEL_BSP_EXPORT_TIMEOUT": ("export_timeout_millis", 5000),
}


class AccountingSpanExporter(SpanExporter):
    """Wraps an exporter to count delivered and failed spans and to log failures at most once a minute."""

    def __init__(self, exporter: SpanExporter, metrics: HttpMetrics, warn_interval_seconds: float = 60.0) -> None:
        self.exporter = exporter
        self._exported = metrics.spans_exported
        self._failed = metrics.spans_dropped.labels("export_failed")
        self._warn_interval = warn_interval_seconds
        self._last_warning = -warn_interval_seconds
        self._failed_since_warning = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.exporter.export(spans)
        except Exception:  # an exporter bug must not kill the processor thread
            logger.exception("span exporter raised")
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self._exported.inc(len(spans))
        else:
            self._failed.inc(len(spans))
            self._warn(len(spans))
        return result

    def _warn(self, count: int) -> None:
        with self._lock:
            self._failed_since_warning += count
            now = time.monotonic()
            if now - self._last_warning < self._warn_interval:
                return
            failed, self._failed_since_warning, self._last_warning = self._failed_since_warning, 0, now
        logger.warning(
            "spans could not be exported; is the collector reachable?",
            extra={"event": "telemetry.export_failed", "spans_dropped": failed},
        )

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class AccountingBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor that counts the spans it drops because its queue is full.

    The SDK drops silently (apart from a log line per span); the count is what an operator alerts on.
    """

    def __init__(self, exporter: SpanExporter, metrics: HttpMetrics, **kwargs: Any) -> None:
        super().__init__(exporter, **kwargs)
        self._queue_full = metrics.spans_dropped.labels("queue_full")
        # The SDK keeps its queue on an internal object; read it defensively so an SDK upgrade that moves
        # it disables the count instead of breaking span delivery (a unit test watches for that).
        self._queue = getattr(getattr(self, "_batch_processor", None), "_queue", None)

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and span.context.trace_flags.sampled and len(queue) >= queue.maxlen:
            self._queue_full.inc()
        super().on_end(span)


def _processor_options(env: Mapping[str, str] = os.environ) -> dict[str, int]:
    return {arg: default for var, (arg, default) in _BSP_DEFAULTS.items() if not env.get(var)}


def _redacting_exporter(config: TelemetryConfig) -> SpanExporter:
    """The configured exporter, which lets no span out unredacted (telemetry.redaction)."""
    if config.traces_exporter == "console":
        return RedactingSpanExporter(ConsoleSpanExporter())
    if config.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return RedactingSpanExporter(GrpcExporter())
    # The SDK's HTTP exporter with telemetry.otlp's encoder, which redacts as it encodes (several times
    # faster than the SDK's encoder after a separate redaction pass; see that module).
    from .otlp import OTLPSpanExporter

    return OTLPSpanExporter(redact=True)


def build_resource(config: TelemetryConfig) -> Resource:
    return Resource.create(
        {
            "service.name": config.service_name,
            "service.version": config.service_version,
            "deployment.environment.name": config.environment,
            "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
            "process.pid": os.getpid(),
        }
    )


def setup_tracing(config: TelemetryConfig, metrics: HttpMetrics) -> TracerProvider | None:
    """Create the process's TracerProvider as configured, or None when tracing is disabled."""
    if config.sdk_disabled or config.traces_exporter == "none":
        return None
    provider = TracerProvider(resource=build_resource(config))
    exporter = AccountingSpanExporter(_redacting_exporter(config), metrics)
    provider.add_span_processor(AccountingBatchSpanProcessor(exporter, metrics, **_processor_options()))
    return provider


def tracer_from(provider: trace.TracerProvider | None) -> trace.Tracer:
    """The tracer spans are made with; a no-op tracer when ``provider`` is None."""
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(SCOPE)

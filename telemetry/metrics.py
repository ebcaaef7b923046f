"""Prometheus metrics: RED metrics for HTTP, process metrics, build info, and the /metrics endpoint.

Names follow the OpenTelemetry HTTP semantic conventions as Prometheus spells them:

``http_server_request_duration_seconds`` (histogram)
    labels ``http_request_method``, ``http_route``, ``http_response_status_code``. Buckets are the OTel
    advisory boundaries. Observations carry a ``trace_id`` exemplar when the request's span is sampled,
    so Grafana can jump from a latency bucket to the trace.
``http_server_active_requests`` (gauge)
    label ``http_request_method``: requests being handled right now.
``http_client_request_duration_seconds`` (histogram)
    labels ``server_address``, ``server_port``, ``http_request_method``, ``http_response_status_code``
    (``0`` when no response arrived: timeout, refused connection).
``tienda_build_info``
    ``service``, ``version`` and ``environment`` (``TIENDA_ENV``) of the running build, value 1.
``tienda_telemetry_spans_dropped_total`` (counter)
    spans that never reached the collector, by ``reason`` (``queue_full``, ``export_failed``).
``tienda_telemetry_spans_exported_total`` (counter)
    spans the collector accepted.

plus the ``process_*``, ``python_gc_*`` and ``python_info`` collectors of prometheus_client.

Label values are bounded by construction: ``http_route`` is the Flask route template or the single value
``UNMATCHED_ROUTE``; ``http_request_method`` is one of the standard methods or ``_OTHER``. A scanner
sending random paths and verbs therefore creates no new series.

Each :class:`HttpMetrics` owns a :class:`prometheus_client.CollectorRegistry`, injectable for tests.
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

#: Bucket boundaries the OTel semantic conventions advise for HTTP durations.
DURATION_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: ``http_route`` of every request that matched no route (404, 405 on an unknown path).
UNMATCHED_ROUTE = "unmatched"
#: Methods kept as they are; any other becomes ``_OTHER`` (OTel HTTP semantic conventions).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def normalize_method(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"


class HttpMetrics:
    """The metrics of one instrumented service, registered in one registry."""

    def __init__(
        self, service: str, version: str, registry: CollectorRegistry | None = None, environment: str = "development"
    ) -> None:
        """Register the metrics in ``registry``; a new one (with process, platform and GC collectors) if None."""
        if registry is None:
            registry = CollectorRegistry(auto_describe=True)
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self.server_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests.",
            ("http_request_method", "http_route", "http_response_status_code"),
            buckets=DURATION_BUCKETS_SECONDS,
            registry=registry,
        )
        self.active_requests = Gauge(
            "http_server_active_requests",
            "Number of active HTTP server requests.",
            ("http_request_method",),
            registry=registry,
        )
        self.client_duration = Histogram(
            "http_client_request_duration_seconds",
            "Duration of HTTP client requests.",
            ("server_address", "server_port", "http_request_method", "http_response_status_code"),
            buckets=DURATION_BUCKETS_SECONDS,
            registry=registry,
        )
        self.spans_dropped = Counter(
            "tienda_telemetry_spans_dropped_total",
            "Finished spans that were not delivered to the collector.",
            ("reason",),
            registry=registry,
        )
        self.spans_exported = Counter(
            "tienda_telemetry_spans_exported_total",
            "Finished spans accepted by the collector.",
            registry=registry,
        )
        for reason in ("queue_full", "export_failed"):
            self.spans_dropped.labels(reason)  # present at zero, so rate() and alerts work from the start
        Info("tienda_build", "The running build.", registry=registry).info(
            {"service": service, "version": version, "environment": environment}
        )
        # Children looked up once per label set: labels() takes a lock and builds a tuple on every call.
        self._server_children: dict[tuple[str, str, int], Histogram] = {}
        self._in_flight: dict[str, set[object]] = {}
        self._in_flight_lock = threading.Lock()

    def in_flight(self, method: str) -> set[object]:
        """The requests of ``method`` (already normalised) being handled right now.

        A request adds an object of its own as it starts and discards it as it ends; the
        ``http_server_active_requests`` child of ``method`` reads the set's size when scraped. The same
        samples as ``inc()`` and ``dec()`` on the child, for a fraction of the cost: those take the
        value's lock twice per request (1.1 us), ``set.add`` and ``set.discard`` are single operations
        under the GIL (0.1 us).
        """
        requests = self._in_flight.get(method)
        if requests is None:
            with self._in_flight_lock:  # once per method: the set the gauge reads must be the one handed out
                requests = self._in_flight.get(method)
                if requests is None:
                    requests = set()
                    self.active_requests.labels(method).set_function(requests.__len__)
                    self._in_flight[method] = requests
        return requests

    def observe_server(self, method: str, route: str, status: int, seconds: float, trace_id: str | None) -> None:
        key = (method, route, status)
        child = self._server_children.get(key)
        if child is None:
            child = self._server_children[key] = self.server_duration.labels(method, route, str(status))
        child.observe(seconds, {"trace_id": trace_id} if trace_id else None)

    def observe_client(
        self,
        server_address: str,
        server_port: str,
        method: str,
        status: int,
        seconds: float,
        trace_id: str | None,
    ) -> None:
        self.client_duration.labels(server_address, server_port, method, str(status)).observe(
            seconds, {"trace_id": trace_id} if trace_id else None
        )

    def exposition(self, accept_header: str | None) -> tuple[bytes, str]:
        """The registry's samples in OpenMetrics when the scraper asks for it, else the classic text."""
        encoder, content_type = choose_encoder(accept_header or "")
        return encoder(self.registry), content_type

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

:func:`counter_by` and :func:`gauge_by` declare a metric of one label with the series of every value it will
take present from the start, at zero: a series that appears only at its first increment has no ``rate()``
until its second scrape, and an alert over it stays silent meanwhile. The services' business metrics are
declared with them too.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar
from prometheus_client.utils import INF, floatToGoString

#: Bucket boundaries the OTel semantic conventions advise for HTTP durations.
DURATION_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: ``http_route`` of every request that matched no route (404, 405 on an unknown path).
UNMATCHED_ROUTE = "unmatched"
#: A metric of one label, as :func:`counter_by` and :func:`gauge_by` declare it.
LabelledT = TypeVar("LabelledT", Counter, Gauge)
#: Methods kept as they are; any other becomes ``_OTHER`` (OTel HTTP semantic conventions).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def counter_by(
    name: str, documentation: str, label: str, values: Iterable[str], registry: CollectorRegistry
) -> Counter:
    """A counter labelled by ``label``, with the series of every one of ``values`` present at zero."""
    return _with_series(Counter(name, documentation, (label,), registry=registry), values)


def gauge_by(name: str, documentation: str, label: str, values: Iterable[str], registry: CollectorRegistry) -> Gauge:
    """A gauge labelled by ``label``, with the series of every one of ``values`` present at zero."""
    return _with_series(Gauge(name, documentation, (label,), registry=registry), values)


def _with_series(metric: LabelledT, values: Iterable[str]) -> LabelledT:
    for value in values:
        metric.labels(value)
    return metric


def normalize_method(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"


def created_series() -> bool:
    """Whether prometheus_client writes ``_created`` series (``PROMETHEUS_DISABLE_CREATED_SERIES``,
    ``disable_created_metrics()``), read where it keeps the switch (a unit test watches that it still does)."""
    return bool(getattr(prometheus_metrics, "_use_created", True))


class _Series:
    """One label set of :class:`ServerDurations`: counts per bucket (not cumulative), sum, each bucket's latest
    exemplar, and when the series was created."""

    __slots__ = ("lock", "counts", "total", "exemplars", "created")

    def __init__(self, buckets: int) -> None:
        self.lock = threading.Lock()
        self.counts = [0.0] * buckets
        self.total = 0.0
        self.exemplars: list[Exemplar | None] = [None] * buckets
        self.created = time.time()


class ServerDurations(Collector):
    """``http_server_request_duration_seconds``, exposed exactly as a prometheus_client ``Histogram`` with these
    labels and buckets would expose it: the same samples, labels, exemplars and ``_created`` series, in the
    same order (tests/unit/test_server_metrics.py compares the two expositions).

    Written here because it is observed on every request and ``Histogram.observe`` was the costliest
    metrics call of one: three lock round trips (sum, bucket, exemplar) and a validation of the exemplar's
    labels, 4.0-4.6 us with an exemplar and 1.4-2.0 us without in a micro-benchmark, against 0.8-1.6 and
    0.7-1.1 us here with one lock. The exemplar is the request's ``trace_id`` (40 characters with its name,
    under the 128 OpenMetrics allows), valid by construction.
    """

    name = "http_server_request_duration_seconds"
    documentation = "Duration of HTTP server requests."
    labelnames = ("http_request_method", "http_route", "http_response_status_code")

    def __init__(self, registry: CollectorRegistry, buckets: Iterable[float] = DURATION_BUCKETS_SECONDS) -> None:
        self._bounds = (*(float(b) for b in buckets), INF)
        self._le = tuple(floatToGoString(b) for b in self._bounds)  # type: ignore[no-untyped-call]
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._lock = threading.Lock()
        registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float, trace_id: str | None) -> None:
        """Count one request; ``trace_id`` (of a sampled span) becomes its bucket's exemplar."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            with self._lock:
                series = self._series.setdefault(key, _Series(len(self._bounds)))
        i = bisect_left(self._bounds, seconds)  # the first bound >= seconds, which Histogram.observe looks for
        with series.lock:
            series.total += seconds
            if seconds <= self._bounds[i]:  # False only for NaN, which Histogram counts in no bucket either
                series.counts[i] += 1.0
                if trace_id:
                    series.exemplars[i] = Exemplar({"trace_id": trace_id}, seconds, time.time())

    def describe(self) -> Iterable[Metric]:
        return [Metric(self.name, self.documentation, "histogram")]

    def collect(self) -> Iterable[Metric]:
        metric = Metric(self.name, self.documentation, "histogram")
        created = created_series()
        with self._lock:
            all_series = list(self._series.items())
        for (method, route, status), series in all_series:
            labels = dict(zip(self.labelnames, (method, route, str(status)), strict=True))
            with series.lock:
                counts, total, exemplars = list(series.counts), series.total, list(series.exemplars)
            count = 0.0
            for le, in_bucket, exemplar in zip(self._le, counts, exemplars, strict=True):
                count += in_bucket
                metric.add_sample(f"{self.name}_bucket", {**labels, "le": le}, count, None, exemplar)
            metric.add_sample(f"{self.name}_count", dict(labels), count)
            metric.add_sample(f"{self.name}_sum", dict(labels), total)
            if created:
                metric.add_sample(f"{self.name}_created", dict(labels), series.created)
        return [metric]


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
        self.server_duration = ServerDurations(registry)
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
        self.spans_dropped = counter_by(
            "tienda_telemetry_spans_dropped_total",
            "Finished spans that were not delivered to the collector.",
            "reason",
            ("queue_full", "export_failed"),
            registry,
        )
        self.spans_exported = Counter(
            "tienda_telemetry_spans_exported_total",
            "Finished spans accepted by the collector.",
            registry=registry,
        )
        Info("tienda_build", "The running build.", registry=registry).info(
            {"service": service, "version": version, "environment": environment}
        )
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
        self.server_duration.observe(method, route, status, seconds, trace_id)

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

"""tienda's telemetry: one call gives a Flask app JSON logs, Prometheus metrics and OpenTelemetry traces.

::

    from flask import Flask
    import telemetry

    def create_app():
        app = Flask(__name__)
        tel = telemetry.instrument(app, service_name="products")
        telemetry.health.register("database", check_database, app=app)
        return app

:func:`instrument` is idempotent: calling it again on the same app returns the first handle and changes
nothing. What the app gets:

* JSON log lines on stdout with ``request_id``, ``trace_id`` and ``span_id`` on every line, one access
  line per request, secrets redacted (:mod:`telemetry.logs`, :mod:`telemetry.redaction`);
* ``X-Request-ID`` accepted when well-formed, generated otherwise, echoed on every response
  (:mod:`telemetry.requestid`);
* RED metrics, process metrics and ``tienda_build_info`` on ``GET /metrics``, OpenMetrics with exemplars
  when the scraper asks for it (:mod:`telemetry.metrics`);
* a server span per request, exported over OTLP with the same redaction applied to attributes, events and
  ``url.query`` (:mod:`telemetry.tracing`, :mod:`telemetry.server`);
* ``GET /health/live`` and ``GET /health/ready`` (:mod:`telemetry.health`);
* the same JSON error body for every 4xx/5xx (:mod:`telemetry.errors`);
* the request's deadline budget from ``X-Request-Budget-Ms``, honoured by the HTTP client
  (:mod:`telemetry.deadline`);
* fault injection, off until a rule is set: ``FAULTS``, ``handle.faults`` and ``/admin/faults`` where
  faults are allowed (:mod:`telemetry.faults`).

Outgoing calls go through :class:`telemetry.http.Client`; under gunicorn use the repository's
``gunicorn.conf.py``, which wires :mod:`telemetry.gunicorn`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TextIO, cast

from flask import Flask, Response, request
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from . import deadline, errors, faults, health, http, redaction, requestid
from .config import ConfigError, TelemetryConfig
from .faults import Faults
from .health import HealthChecks
from .logs import configure_logging
from .metrics import HttpMetrics
from .server import ServerHooks
from .tracing import setup_tracing, tracer_from

__all__ = [
    "ConfigError",
    "deadline",
    "Telemetry",
    "TelemetryConfig",
    "errors",
    "faults",
    "health",
    "http",
    "instrument",
    "redaction",
    "requestid",
    "shutdown",
]

METRICS_PATH = "/metrics"

logger = logging.getLogger("telemetry")

_handles: list[Telemetry] = []
_handles_lock = threading.Lock()


@dataclass
class Telemetry:
    """What :func:`instrument` set up for one app: use its ``tracer`` and ``metrics.registry`` directly."""

    config: TelemetryConfig
    metrics: HttpMetrics
    tracer: trace.Tracer
    tracer_provider: TracerProvider | None
    health: HealthChecks = field(default_factory=HealthChecks)
    owns_provider: bool = True
    #: The app's fault rules (:mod:`telemetry.faults`): ``faults.set([...])``, ``faults.clear()``, ``faults.list()``.
    faults: Faults = field(default_factory=lambda: Faults("", allowed=False))

    def shutdown(self) -> None:
        """Flush buffered spans and stop the exporter thread (worker exit, tests)."""
        if self.tracer_provider is not None and self.owns_provider:
            self.tracer_provider.shutdown()


def instrument(
    app: Flask,
    *,
    service_name: str,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
    log_stream: TextIO | None = None,
    configure_logs: bool = True,
    request_budget_seconds: float | None = None,
) -> Telemetry:
    """Instrument ``app`` with logs, metrics, traces, request IDs, health and JSON errors.

    Args:
        service_name: used unless ``OTEL_SERVICE_NAME`` is set.
        registry: Prometheus registry for the app's metrics (default: a new one with process metrics).
        tracer_provider: use this provider instead of building one from the environment (tests pass one
            with an in-memory exporter); the caller then owns its shutdown.
        log_stream: where JSON log lines go (default stdout).
        configure_logs: set to False to leave the process's logging configuration alone.
        request_budget_seconds: makes the app a public entry: a request without ``X-Request-Budget-Ms``
            gets this budget, and a client's is capped to it (:mod:`telemetry.deadline`);
            ``REQUEST_BUDGET_SECONDS`` overrides it.

    Raises:
        telemetry.ConfigError: an environment variable is malformed.
    """
    existing = app.extensions.get("telemetry")
    if existing is not None:
        return cast(Telemetry, existing)

    config = TelemetryConfig.from_env(service_name)
    if configure_logs:
        configure_logging(config.service_name, config.log_level, log_stream)
    metrics = HttpMetrics(config.service_name, config.service_version, registry, config.tienda_env)
    owns_provider = tracer_provider is None
    provider = setup_tracing(config, metrics) if owns_provider else tracer_provider
    if provider is not None and owns_provider and _no_global_provider():
        # Library instrumentations (SQLAlchemy, ...) use the global provider.
        trace.set_tracer_provider(provider)
    app_faults = Faults(
        config.service_name, allowed=config.faults_allowed, rules=config.faults, registry=metrics.registry
    )
    handle = Telemetry(config, metrics, tracer_from(provider), provider, owns_provider=owns_provider, faults=app_faults)
    app.extensions["telemetry"] = handle

    def metrics_endpoint() -> Response:
        body, content_type = metrics.exposition(request.headers.get("Accept"))
        return Response(body, content_type=content_type)

    app.add_url_rule(METRICS_PATH, "telemetry_metrics", metrics_endpoint, methods=["GET"])
    health.install(app, handle.health)
    errors.install(app)
    faults.install(app, app_faults)
    ServerHooks(
        app,
        handle.tracer,
        metrics,
        frozenset({METRICS_PATH, health.LIVE_PATH, health.READY_PATH}),
        faults=app_faults,
        request_budget_seconds=config.request_budget_seconds or request_budget_seconds,
    )
    with _handles_lock:
        _handles.append(handle)
    logger.info(
        "telemetry ready",
        extra={
            "event": "telemetry.ready",
            "tracing": provider is not None,
            "service_version": config.service_version,
            "environment": config.environment,
        },
    )
    return handle


def _no_global_provider() -> bool:
    return not isinstance(trace.get_tracer_provider(), TracerProvider)


def shutdown() -> None:
    """Flush and stop the tracing of every app instrumented in this process."""
    with _handles_lock:
        handles = list(_handles)
        _handles.clear()
    for handle in handles:
        handle.shutdown()

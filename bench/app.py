"""The app the overhead benchmark serves: a tiny JSON catalogue, bare, instrumented, or as a user would assemble it.

``create_app()`` builds the same routes every way; the environment picks what wraps them:

``BENCH_INSTRUMENT=1``
    :func:`telemetry.instrument`, so the difference to the bare app is exactly what the telemetry package adds.
``BENCH_PEER=1``
    the "assembled peer": what a user would put together from well-known libraries for the same three signals,
    each with its documented defaults: ``opentelemetry-instrumentation-flask`` with the SDK's
    ``BatchSpanProcessor`` and OTLP/HTTP exporter, ``prometheus_flask_exporter`` for the RED metrics and
    ``/metrics``, and one python-json-logger access line per request on stdout. Its packages are the ``bench``
    extra of pyproject.toml, never dependencies of the shop.

::

    BENCH_INSTRUMENT=1 gunicorn -c gunicorn.conf.py -b 127.0.0.1:8000 'bench.app:create_app()'
"""

from __future__ import annotations

import logging
import os
import sys
import time

from flask import Flask, Response, abort, g, jsonify, request

_ITEMS = {
    i: {"id": i, "sku": f"SKU-{i:05d}", "name": f"Item {i}", "price_cents": 199 + 37 * i, "stock": i % 17}
    for i in range(1, 1001)
}


def create_app() -> Flask:
    """A small JSON app; instrumented with ``telemetry.instrument`` (``BENCH_INSTRUMENT=1``) or the peer
    assembly (``BENCH_PEER=1``)."""
    app = Flask(__name__)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Response:
        item = _ITEMS.get(item_id)
        if item is None:
            abort(404)
        return jsonify(item)

    if os.environ.get("BENCH_INSTRUMENT") == "1":
        import telemetry

        telemetry.instrument(app, service_name="bench")
    elif os.environ.get("BENCH_PEER") == "1":
        assemble_peer(app)
    return app


def assemble_peer(app: Flask) -> None:
    """Instrument ``app`` the way the libraries' own documentation shows, with their defaults."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from prometheus_flask_exporter import PrometheusMetrics
    from pythonjsonlogger.json import JsonFormatter

    # Traces: the SDK reads OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and OTEL_EXPORTER_OTLP_* itself.
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)

    # Metrics: request duration histogram and counters by path, method and status, served on /metrics.
    PrometheusMetrics(app)

    # Logs: one JSON access line per request, with the trace context, via python-json-logger.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    access = logging.getLogger("bench.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def access_line(response: Response) -> Response:
        ctx = trace.get_current_span().get_span_context()
        access.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "event": "http.access",
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 3),
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
            },
        )
        return response

"""The per-request work of an instrumented Flask app: span, metrics, request ID and access line.

Three Flask hooks do everything, and they are deliberately small because they run on every request:

* ``before_request`` (registered first, so it runs before the app's own hooks): accept or make the
  request ID, extract the W3C ``traceparent``/``baggage`` context, start the server span named
  ``{METHOD} {route}`` with the stable HTTP semantic-convention attributes, make it current, and count
  the request as active.
* ``after_request`` (registered first, so it runs last and sees the final response): echo
  ``X-Request-ID`` and note the status and size.
* ``teardown_request``: observe ``http_server_request_duration_seconds`` with a ``trace_id`` exemplar
  when the span is sampled, set the span's status (5xx is an error; 4xx leaves a server span unset, as
  the conventions say), write the access line while the span is still current, end the span, and restore
  the context.

Health and metrics endpoints get a request ID and a DEBUG access line but no span and no metrics.

This is written against the SDK directly rather than with opentelemetry-instrumentation-flask: the
benchmark in bench/ shows the contrib middleware plus a separate metrics exporter costs more than half of
a small Flask app's throughput; these hooks cost a fraction of that.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import requestid
from .metrics import UNMATCHED_ROUTE, HttpMetrics, normalize_method

access_logger = logging.getLogger("telemetry.access")
logger = logging.getLogger("telemetry.server")

_SERVER = SpanKind.SERVER


class _RequestState:
    __slots__ = ("started", "method", "route", "rid_token", "span", "ctx_token", "status", "size", "probe")


class ServerHooks:
    """Installs the hooks on one app; ``probe_paths`` are served without spans or metrics."""

    def __init__(self, app: Flask, tracer: trace.Tracer, metrics: HttpMetrics, probe_paths: frozenset[str]):
        self.tracer = tracer
        self.metrics = metrics
        self.probe_paths = probe_paths
        app.before_request_funcs.setdefault(None, []).insert(0, self.before)
        app.after_request_funcs.setdefault(None, []).insert(0, self.after)
        app.teardown_request_funcs.setdefault(None, []).insert(0, self.teardown)

    def before(self) -> None:
        state = _RequestState()
        state.started = time.perf_counter()
        state.status = 500  # until after_request says otherwise
        state.size = None
        incoming = request.headers.get(requestid.HEADER)
        rid = incoming if incoming is not None and requestid.is_valid(incoming) else requestid.generate()
        state.rid_token = requestid.set_current(rid)
        state.method = method = normalize_method(request.method)
        rule = request.url_rule
        state.route = route = rule.rule if rule is not None else UNMATCHED_ROUTE
        state.probe = request.path in self.probe_paths
        g._telemetry = state
        if state.probe:
            state.span = state.ctx_token = None
            return
        parent = propagate.extract(request.headers)
        environ = request.environ
        attributes = {
            "http.request.method": request.method if method != "_OTHER" else "_OTHER",
            "url.path": request.path,
            "url.scheme": request.scheme,
            "network.protocol.version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").rpartition("/")[2],
            requestid.SPAN_ATTRIBUTE: (rid,),
        }
        if method == "_OTHER":
            attributes["http.request.method_original"] = request.method
        if rule is not None:
            attributes["http.route"] = route
        if request.query_string:
            attributes["url.query"] = request.query_string.decode("latin-1")
        if "HTTP_USER_AGENT" in environ:
            attributes["user_agent.original"] = environ["HTTP_USER_AGENT"]
        if "REMOTE_ADDR" in environ:
            attributes["client.address"] = environ["REMOTE_ADDR"]
        span_name = method if method != "_OTHER" else "HTTP"
        if rule is not None:
            span_name = f"{span_name} {route}"
        state.span = span = self.tracer.start_span(span_name, context=parent, kind=_SERVER, attributes=attributes)
        state.ctx_token = context.attach(trace.set_span_in_context(span, parent))
        self.metrics.active(method).inc()
        if incoming is not None and incoming != rid:
            logger.warning(
                "replaced a malformed X-Request-ID",
                extra={"event": "request_id.replaced", "received": incoming[:64]},
            )

    def after(self, response: Response) -> Response:
        state = g.get("_telemetry")
        if state is not None:
            state.status = response.status_code
            state.size = response.content_length
            response.headers[requestid.HEADER] = requestid.current()
        return response

    def teardown(self, exc: BaseException | None) -> None:
        state = g.pop("_telemetry", None)
        if state is None:
            return
        seconds = time.perf_counter() - state.started
        status = state.status
        span = state.span
        try:
            if span is not None:
                self.metrics.active(state.method).dec()
                span_ctx = span.get_span_context()
                trace_id = format(span_ctx.trace_id, "032x") if span_ctx.trace_flags.sampled else None
                self.metrics.observe_server(state.method, state.route, status, seconds, trace_id)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    if "error.type" not in getattr(span, "attributes", ()):  # keep an exception's type
                        span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))
                if exc is not None:
                    span.record_exception(exc)
            level = logging.DEBUG if state.probe else logging.INFO
            if access_logger.isEnabledFor(level):
                access_logger.log(
                    level,
                    "%s %s %s",
                    request.method,
                    request.path,
                    status,
                    extra={
                        "event": "http.access",
                        "method": request.method,
                        "route": state.route,
                        "path": request.path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "bytes": state.size,
                    },
                )
        finally:
            if span is not None:
                span.end()
                context.detach(state.ctx_token)
            requestid.reset(state.rid_token)

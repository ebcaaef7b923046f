"""The per-request work of an instrumented Flask app: span, metrics, request ID and access line.

Three Flask hooks do everything, and they are deliberately small because they run on every request:

* ``before_request`` (registered first, so it runs before the app's own hooks): accept or make the
  request ID, start the request's deadline budget (:mod:`telemetry.deadline`), extract the W3C
  ``traceparent``/``baggage`` context, start the server span named ``{METHOD} {route}`` with the stable
  HTTP semantic-convention attributes (``url.query`` with the values of sensitive parameters replaced),
  make it current, count the request as active, and apply the route's fault rules when any is set
  (:mod:`telemetry.faults`).
* ``after_request`` (registered first, so it runs last and sees the final response): echo
  ``X-Request-ID`` and note the status and size.
* ``teardown_request``: observe ``http_server_request_duration_seconds`` with a ``trace_id`` exemplar
  when the span is sampled, set the span's status (5xx is an error; 4xx leaves a server span unset, as
  the conventions say), write the access line while the span is still current, end the span, and restore
  the context.

Health and metrics endpoints get a request ID and a DEBUG access line but no span and no metrics.

This is written against the SDK directly rather than with opentelemetry-instrumentation-flask plus a
separate metrics exporter: that assembly kept about 0.38x of a small Flask app's throughput with p99 about
7x. These hooks read the WSGI environ directly, skip context extraction when no propagation header is
present, give the span its attributes in one go at the start, and have the log handler write the access
line without a ``LogRecord`` when nothing else listens (:func:`telemetry.logs.direct_handler`);
docs/benchmarks.md has the current numbers and docs/overhead-analysis.md where the remaining time goes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

from flask import Flask, Request, Response, request
from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import deadline, requestid
from .faults import Faults
from .logs import ACCESS_LOGGER, direct_handler
from .metrics import UNMATCHED_ROUTE, HttpMetrics, normalize_method
from .redaction import redact_query

access_logger = logging.getLogger(ACCESS_LOGGER)
logger = logging.getLogger("telemetry.server")

_SERVER = SpanKind.SERVER


class _EnvironGetter(Getter[Mapping[str, Any]]):
    """Reads propagation headers straight from the WSGI environ (no werkzeug Headers object)."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return [value] if value is not None else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


_GETTER = _EnvironGetter()


class _RequestState:
    __slots__ = (
        "started",
        "raw_method",
        "method",
        "path",
        "route",
        "rid_token",
        "span",
        "ctx_token",
        "status",
        "size",
        "probe",
        "deadline_token",
        "token",
    )
    started: float
    raw_method: str
    method: str
    path: str
    route: str
    rid_token: Token[str | None]
    span: trace.Span | None
    ctx_token: Token[context.Context] | None
    status: int
    size: int | None
    probe: bool
    deadline_token: Token[float | None] | None
    token: Token[_RequestState | None]


class ServerHooks:
    """Installs the hooks on one app; ``probe_paths`` are served without spans or metrics."""

    def __init__(
        self,
        app: Flask,
        tracer: trace.Tracer,
        metrics: HttpMetrics,
        probe_paths: frozenset[str],
        faults: Faults | None = None,
        request_budget_seconds: float | None = None,
    ):
        self.tracer = tracer
        self.metrics = metrics
        self.probe_paths = probe_paths
        self.faults = faults if faults is not None else Faults("", allowed=False)
        self.request_budget_seconds = request_budget_seconds  # set on the public entry only (telemetry.deadline)
        # The request's state, from before() to teardown(). A context variable, not a key of the WSGI
        # environ: after() and teardown() would reach the environ through Flask's request proxy, 2.3 us per
        # lookup against 0.05 us for ContextVar.get (and 0.6 us to set and reset it). One per app, so an
        # app called inside another's request (a test client in a view) never sees the other's state.
        self._state: ContextVar[_RequestState | None] = ContextVar("tienda_request_state", default=None)
        # Most requests carry no trace context; when none of the configured propagators' headers is
        # present, extraction can be skipped outright.
        self._propagation_keys = tuple(
            "HTTP_" + name.upper().replace("-", "_") for name in propagate.get_global_textmap().fields
        )
        app.before_request_funcs.setdefault(None, []).insert(0, self.before)
        app.after_request_funcs.setdefault(None, []).insert(0, self.after)
        app.teardown_request_funcs.setdefault(None, []).insert(0, self.teardown)

    def before(self) -> Response | None:
        # One proxy lookup instead of one per attribute (werkzeug's LocalProxy method, unknown to its stubs).
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        state = _RequestState()
        state.started = time.perf_counter()
        state.status = 500  # until after_request says otherwise
        state.size = None
        incoming = environ.get("HTTP_X_REQUEST_ID")
        rid = incoming if incoming is not None and requestid.is_valid(incoming) else requestid.generate()
        state.rid_token = requestid.set_current(rid)
        budget = environ.get(deadline.ENVIRON_KEY)
        entry_budget = self.request_budget_seconds
        state.deadline_token = None if budget is None and entry_budget is None else deadline.enter(budget, entry_budget)
        state.raw_method = raw_method = environ["REQUEST_METHOD"]
        state.method = method = normalize_method(raw_method)
        state.path = path = req.path
        rule = req.url_rule
        state.route = route = rule.rule if rule is not None else UNMATCHED_ROUTE
        state.probe = probe = path in self.probe_paths
        state.token = self._state.set(state)
        if probe:
            state.span = state.ctx_token = None
            return None
        parent = None
        if any(key in environ for key in self._propagation_keys):
            parent = propagate.extract(environ, getter=_GETTER)
        span_name = method if method != "_OTHER" else "HTTP"
        # Every attribute known now goes in at the start: one validation pass and no second trip through
        # the span's locks (set_attributes after the start cost more than building these for a span that
        # is not sampled). url.query needs its redaction, so it is only built for spans that are recorded.
        attributes: dict[str, str | tuple[str, ...]] = {
            "http.request.method": method,
            "url.path": path,
            "url.scheme": environ["wsgi.url_scheme"],
            requestid.SPAN_ATTRIBUTE: (rid,),
        }
        if rule is not None:
            span_name = f"{span_name} {route}"
            attributes["http.route"] = route
        if method == "_OTHER":
            attributes["http.request.method_original"] = raw_method
        if "HTTP_USER_AGENT" in environ:
            attributes["user_agent.original"] = environ["HTTP_USER_AGENT"]
        if "REMOTE_ADDR" in environ:
            attributes["client.address"] = environ["REMOTE_ADDR"]
        state.span = span = self.tracer.start_span(span_name, context=parent, kind=_SERVER, attributes=attributes)
        query = environ.get("QUERY_STRING")
        if query and span.is_recording():
            span.set_attribute("url.query", redact_query(query))  # as the conventions ask
        state.ctx_token = context.attach(trace.set_span_in_context(span, parent))
        self.metrics.in_flight(method).add(state)
        if incoming is not None and incoming != rid:
            logger.warning(
                "replaced a malformed X-Request-ID",
                extra={"event": "request_id.replaced", "received": incoming[:64]},
            )
        if self.faults.incoming:  # empty unless a fault rule is set (telemetry.faults)
            return self.faults.on_request(method, route)
        return None

    def after(self, response: Response) -> Response:
        state = self._state.get()
        if state is not None:
            state.status = response.status_code
            state.size = response.content_length
            response.headers[requestid.HEADER] = requestid.current()
        return response

    def teardown(self, exc: BaseException | None) -> None:
        state = self._state.get()
        if state is None:
            return
        seconds = time.perf_counter() - state.started
        status = state.status
        span = state.span
        try:
            if span is None:  # a probe: the access line carries whatever span is current
                span_ctx = trace.get_current_span().get_span_context()
            else:
                self.metrics.in_flight(state.method).discard(state)
                span_ctx = span.get_span_context()
                trace_id = format(span_ctx.trace_id, "032x") if span_ctx.trace_flags.sampled else None
                self.metrics.observe_server(state.method, state.route, status, seconds, trace_id)
                if span.is_recording():
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        # keep an exception's type (a recording span is the SDK's, which has attributes)
                        if "error.type" not in span.attributes:  # type: ignore[attr-defined]
                            span.set_attribute("error.type", str(status))
                        span.set_status(Status(StatusCode.ERROR))
                    if exc is not None:
                        span.record_exception(exc)
            level = logging.DEBUG if state.probe else logging.INFO
            handler = direct_handler(access_logger, level)
            if handler is not None:  # the same line, without a LogRecord (telemetry.logs)
                handler.write_access(
                    level,
                    state.raw_method,
                    state.route,
                    state.path,
                    status,
                    round(seconds * 1000, 3),
                    state.size,
                    span_ctx,
                )
            elif access_logger.isEnabledFor(level):
                access_logger.log(
                    level,
                    "%s %s %s",
                    state.raw_method,
                    state.path,
                    status,
                    extra={
                        "event": "http.access",
                        "method": state.raw_method,
                        "route": state.route,
                        "path": state.path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "bytes": state.size,
                    },
                )
        finally:
            if span is not None:
                span.end()
            if state.ctx_token is not None:  # None when span is
                context.detach(state.ctx_token)
            requestid.reset(state.rid_token)
            if state.deadline_token is not None:
                deadline.leave(state.deadline_token)
            self._state.reset(state.token)

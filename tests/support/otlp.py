"""A real OTLP/HTTP trace receiver for tests: decodes ExportTraceServiceRequest protobuf bodies.

It listens on 127.0.0.1 (a free port), accepts ``POST /v1/traces`` with ``application/x-protobuf`` (and
gzip), decodes each request with opentelemetry-proto, and keeps every span as a :class:`ReceivedSpan`.
:meth:`OtlpReceiver.wait_for` blocks until a predicate over the received spans holds, with a deadline.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}


def exporting_to(endpoint: str) -> dict[str, str]:
    """The environment of an app whose spans go to ``endpoint`` (an :class:`OtlpReceiver`'s, or one where nothing
    listens), each batch sent within 100 ms. A test run exports no span otherwise: tests/conftest.py turns the
    exporter off, so that no app of an earlier test keeps retrying a receiver long gone and logs its failure into
    a later test's output."""
    return {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


def _value(v: AnyValue):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: str
    status: str
    attributes: dict = field(default_factory=dict)
    resource: dict = field(default_factory=dict)
    scope: str = ""
    events: list = field(default_factory=list)
    #: Each event's attributes, in the order of ``events`` (exception.message, exception.stacktrace, ...).
    event_attributes: list = field(default_factory=list)
    status_message: str = ""

    @property
    def service(self) -> str:
        return self.resource.get("service.name", "")


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._add(request)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _add(self, request: ExportTraceServiceRequest) -> None:
        spans = []
        for rs in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append(
                        ReceivedSpan(
                            name=s.name,
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_span_id=s.parent_span_id.hex(),
                            kind=SPAN_KINDS.get(s.kind, str(s.kind)),
                            status=STATUS_CODES.get(s.status.code, str(s.status.code)),
                            attributes={kv.key: _value(kv.value) for kv in s.attributes},
                            resource=resource,
                            scope=ss.scope.name,
                            events=[e.name for e in s.events],
                            event_attributes=[{kv.key: _value(kv.value) for kv in e.attributes} for e in s.events],
                            status_message=s.status.message,
                        )
                    )
        with self._cond:
            self.requests += 1
            self.spans.extend(spans)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 10.0) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` is true; returns the spans, or raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.spans):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = [(s.service, s.name) for s in self.spans]
                    raise AssertionError(f"spans did not arrive in {timeout}s; received: {names}")
                self._cond.wait(remaining)
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._cond:
            return [s for s in self.spans if s.trace_id == trace_id]

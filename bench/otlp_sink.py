"""A minimal OTLP/HTTP trace sink for the benchmark: accepts, counts, answers, decodes nothing.

``POST /v1/traces`` has its body read and answered with ``200`` and an empty protobuf body (an empty
``ExportTraceServiceResponse``, which the OTLP exporter takes as full success). Requests and bytes are
counted and printed on exit. Only 127.0.0.1 is bound.

    python bench/otlp_sink.py 4318
"""

from __future__ import annotations

import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACES_PATH = "/v1/traces"


class Counters:
    """Requests and body bytes received, shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += size


class SinkHandler(BaseHTTPRequestHandler):
    """Answers OTLP/HTTP trace exports; everything else is 404."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's requests.Session expects

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0] != TRACES_PATH:
            self._reply(404, b"", "text/plain")
            return
        self.server.counters.add(len(body))
        self._reply(200, b"", "application/x-protobuf")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Silence the per-request stderr line: the sink must stay cheap."""


def make_server(port: int) -> ThreadingHTTPServer:
    """A sink bound to 127.0.0.1:``port`` (0 picks a free port), not yet serving."""
    server = ThreadingHTTPServer(("127.0.0.1", port), SinkHandler)
    server.daemon_threads = True
    server.counters = Counters()
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python bench/otlp_sink.py PORT", file=sys.stderr)
        return 2
    server = make_server(int(argv[1]))
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C, so the counts are printed
    print(f"otlp sink listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        c = server.counters
        print(f"otlp sink: {c.requests} export requests, {c.bytes} bytes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

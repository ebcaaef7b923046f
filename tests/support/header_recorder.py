"""A plain HTTP server on 127.0.0.1 that records the headers of every GET it receives.

``/status/<code>`` answers that status; ``/slow`` answers only once :attr:`HeaderRecorder.release` is set (or
after 30 s), for tests of timeouts and deadlines. Every other path answers 200 ``{}``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HeaderRecorder:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path == "/slow":
                    recorder.release.wait(30)
                status = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def header_recorder() -> Iterator[HeaderRecorder]:
    """A running :class:`HeaderRecorder`, closed at the end of the block."""
    server = HeaderRecorder()
    try:
        yield server
    finally:
        server.close()

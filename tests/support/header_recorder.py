"""A plain HTTP server on 127.0.0.1 that records the headers of every GET it receives.

``/status/<code>`` answers that status; ``/slow`` answers only once :attr:`HeaderRecorder.release` is set (or
after 30 s), for tests of timeouts and deadlines. Every other path answers 200 ``{}``.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from tests.support.servers import LocalServer


class HeaderRecorder(LocalServer):
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path == "/slow":
                    recorder.release.wait(30)
                status = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up on /slow, as the timeout tests mean it to: nothing to answer

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

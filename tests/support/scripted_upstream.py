"""A plain HTTP server on 127.0.0.1 that answers each request with the next reply of a script.

``server.script(503, (429, {"Retry-After": "1"}), 200)`` queues replies; once the script is used up every
request gets 200. ``/hold`` waits until :attr:`ScriptedUpstream.release` is set (or 30 s) before replying,
for tests of concurrency limits and timeouts. Every request is recorded as ``(method, path, headers)``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = int | tuple[int, dict[str, str]]


class ScriptedUpstream:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.release = threading.Event()
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with upstream._lock:
                    upstream.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                    reply = upstream._replies.popleft() if upstream._replies else 200
                if self.path == "/hold":
                    upstream.release.wait(30)
                status, headers = reply if isinstance(reply, tuple) else (reply, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = _reply

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def scripted_upstream() -> Iterator[ScriptedUpstream]:
    """A running :class:`ScriptedUpstream`, closed at the end of the block."""
    server = ScriptedUpstream()
    try:
        yield server
    finally:
        server.close()

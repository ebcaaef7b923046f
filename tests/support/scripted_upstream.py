"""A plain HTTP server on 127.0.0.1 that answers each request with the next reply of a script.

``server.script(503, (429, {"Retry-After": "1"}), DROP, 200)`` queues replies; once the script is used up every
request gets 200 ``{}``. ``DROP`` reads the request and closes the connection without an answer. ``/hold`` waits
until :attr:`ScriptedUpstream.release` is set (or 30 s) before replying, for tests of concurrency limits,
timeouts and deadlines. Every request is recorded as ``(method, path, headers)``, header names lower-cased;
:attr:`ScriptedUpstream.headers` lists the headers alone.
"""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler

from tests.support.servers import LocalServer

Reply = int | tuple[int, dict[str, str]] | str

#: A reply that reads the request and closes the connection without answering, as a process killed mid-call does.
DROP = "drop"


class ScriptedUpstream(LocalServer):
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
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
                if reply == DROP:
                    self.close_connection = True
                    return
                if self.path == "/hold":
                    upstream.release.wait(30)
                status, headers = reply if isinstance(reply, tuple) else (reply, {})
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up on /hold, as the timeout tests mean it to: nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = _reply

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The headers of every request received, in order."""
        with self._lock:
            return [headers for _, _, headers in self.requests]

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

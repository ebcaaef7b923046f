"""Slow clients for the slow-client tests: connections that trickle their request a byte at a time, and the front
proxy (nginx, as ``make up`` runs it) in front of a gateway.

Everything here is bounded: a trickle stops after ``max_seconds`` even if the test forgets it, and the proxy is
stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from services.stack import start_front_proxy
from tests.support.procs import free_port, wait_until_up

#: Sent at once: a request line and the first header, so the server has started reading a request.
HEADERS_PREFIX = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: tienda\r\n"
#: Sent at once: complete headers announcing a body that then arrives a byte at a time.
BODY_PREFIX = (
    b"POST /api/v1/auth/token HTTP/1.1\r\nHost: tienda\r\nContent-Type: application/json\r\n"
    b"Content-Length: 4000\r\n\r\n"
)


class Trickle:
    """``count`` connections to ``port``, each sent ``prefix`` and then one byte every ``interval`` seconds."""

    def __init__(self, port: int, count: int, prefix: bytes, *, interval: float = 0.5, max_seconds: float = 20.0):
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(prefix)
            self.sockets.append(sock)
        self.interval, self.max_seconds = interval, max_seconds
        self.cut_off = 0  # connections the server closed while they trickled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        live = list(self.sockets)
        while live and not self._stop.wait(self.interval) and time.monotonic() < deadline:
            for sock in list(live):
                try:
                    sock.sendall(b"x")  # one more byte of a header line or of the body
                except OSError:
                    live.remove(sock)
                    self.cut_off += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def trickling(port: int, count: int, prefix: bytes, **options: float) -> Iterator[Trickle]:
    trickle = Trickle(port, count, prefix, **options)
    try:
        yield trickle
    finally:
        trickle.stop()


class FrontProxy:
    """nginx with the repository's front-proxy configuration on a free port, in front of ``gateway_port``."""

    def __init__(self, gateway_port: int, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        self.proc = start_front_proxy(
            directory, f"127.0.0.1:{self.port}", f"127.0.0.1:{gateway_port}", directory / "front.log"
        )
        try:
            wait_until_up(self.url + "/health/live", proc=self.proc)
        except Exception:
            self.stop()
            raise

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

"""Start real service processes (gunicorn with the repository's gunicorn.conf.py) for tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import requests

from services.stack import MALLOC_ARENA_MAX

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each socket is held until all are bound (:func:`free_port` twice in a row may
    answer the same port, once the first socket is closed)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def wait_until_up(url: str, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers (any status), the process dies, or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            requests.get(url, timeout=0.5)
            return
        except requests.RequestException as exc:
            last_error = exc
            time.sleep(0.05)  # polling interval, not a wait for readiness
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


class Service:
    """One gunicorn process; its stdout (the JSON log) goes to ``log_path``. Started and, unless ``wait`` is
    false, answering at ``ready_path`` once constructed; with ``wait=False`` call :meth:`wait_until_ready`, so
    that several processes boot side by side (a service takes about a second of CPU to import and start: one
    after the other, a shop's start is the sum of them)."""

    def __init__(
        self,
        app_spec: str,
        *,
        env: dict[str, str],
        log_path: Path,
        port: int | None = None,
        ready_path: str = "/health/live",
        start_timeout: float = 20.0,
        wait: bool = True,
    ) -> None:
        self.app_spec = app_spec
        self.env = env
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": MALLOC_ARENA_MAX, **env}
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "-b",
                f"127.0.0.1:{self.port}",
                app_spec,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_until_ready()

    def wait_until_ready(self) -> None:
        """Return once the service answers at its ``ready_path``; stopped and raising if it does not in time."""
        try:
            wait_until_up(self.url + self.ready_path, timeout=self.start_timeout, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.app_spec} did not start; log:\n{self.log_path.read_text()[-3000:]}") from None

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    def kill(self, timeout_seconds: float = 10.0) -> None:
        """SIGKILL the gunicorn master and its worker (the process serving requests): requests in flight die with
        them, half done, as in a crash. Returns once the port refuses connections, so that a call made after it
        is refused, as at a dead service, instead of being taken into a dying worker's backlog and reset; raises
        if it still accepts them after ``timeout_seconds``. :meth:`stop` still closes the log."""
        workers = self.worker_pids()
        # The master first: a master that saw its worker die would fork another one, outside this list.
        for pid in (self.proc.pid, *workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + timeout_seconds
        while port_accepts(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.app_spec}: port {self.port} still accepts connections after SIGKILL")
            time.sleep(0.01)

    def worker_pids(self) -> list[int]:
        """The master's child processes (its workers), from /proc."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def restarted(self, log_path: Path, start_timeout: float = 60.0) -> Service:
        """The same app, environment and port, started again after :meth:`kill` or :meth:`stop`; a restart under
        load (callers retrying at it while it boots) is given longer to answer."""
        return Service(
            self.app_spec,
            env=self.env,
            log_path=log_path,
            port=self.port,
            ready_path=self.ready_path,
            start_timeout=start_timeout,
        )

    def terminate(self) -> None:
        """Ask gunicorn to shut down gracefully (SIGTERM) without waiting for it: :meth:`stop` waits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def stop_together(services: Iterable[Service]) -> None:
    """Stop the services, all asked at once: each takes up to a second to finish its requests and threads."""
    services = list(services)
    for service in services:
        service.terminate()
    for service in services:
        service.stop()


def port_accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (a connection is accepted, and closed at once)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False

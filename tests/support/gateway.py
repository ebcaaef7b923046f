"""The gateway in-process (Flask test client) in front of tiny fake upstreams served over real HTTP.

Each fake is a Flask app on ``werkzeug.serving.make_server(threaded=True)`` at 127.0.0.1 on a free port, in a
thread. It records every request it gets (method, path, query, headers, body) and answers what the test told
it to, or, by default, 200 with ``{"service", "method", "path"}``. The fakes are shared by the whole session
and reset before every test; the gateway is made fresh per test with its own spans, metrics and log lines.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from services.common.auth import Caller, InternalTokens, bearer_token, issue_token
from services.gateway.app import create_app
from tests.support.auth import INTERNAL_TOKEN_KEY
from tests.support.captured import Captured

SECRET = "x" * 32

UPSTREAMS = ("users", "products", "orders", "payments", "notifications")

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class Call:
    method: str
    path: str
    args: dict[str, str]
    headers: Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def caller(self) -> Caller | None:
        """Who the internal token the gateway sent names (None without one); a token that does not verify with
        the test run's key fails the test."""
        authorization = self.headers.get("Authorization")
        if authorization is None:
            return None
        return InternalTokens(INTERNAL_TOKEN_KEY, "fake").verify(bearer_token(authorization))


class FakeUpstream:
    """One fake service on a real socket."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[Call] = []
        self.handlers: dict[tuple[str, str], Callable[[], Any]] = {}
        self.live_status = 200
        self.release = threading.Event()
        app = Flask(f"fake_{name}")

        @app.route("/", defaults={"path": ""}, methods=METHODS)
        @app.route("/<path:path>", methods=METHODS)
        def handle(path: str):
            path = "/" + path
            if path == "/health/live":
                return jsonify(status="ok" if self.live_status == 200 else "fail"), self.live_status
            self.calls.append(Call(request.method, path, dict(request.args), Headers(request.headers), request.data))
            handler = self.handlers.get((request.method, path))
            if handler is None:
                return jsonify(service=name, method=request.method, path=path)
            return handler()

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def reply(
        self,
        method: str,
        path: str,
        status: int = 200,
        json_body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``method path`` with ``status`` and ``json_body`` (or ``raw`` bytes of ``content_type``), and
        ``headers``."""

        def handler() -> Response:
            if raw is not None:
                response = Response(raw, status=status, content_type=content_type)
            elif json_body is None:
                response = Response(status=status)
            else:
                response = jsonify(json_body)
                response.status_code = status
            response.headers.update(headers or {})
            return response

        self.handlers[(method, path)] = handler

    def stall(self, method: str, path: str, seconds: float = 2.0) -> None:
        """Answer ``method path`` only after ``seconds`` (or when the test ends)."""

        def handler() -> Response:
            self.release.wait(seconds)
            return jsonify(late=True)

        self.handlers[(method, path)] = handler

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def only_call(self) -> Call:
        assert len(self.calls) == 1, [(c.method, c.path) for c in self.calls]
        return self.calls[0]

    def reset(self) -> None:
        self.release.set()  # lets stalled handlers finish
        self.release = threading.Event()
        self.calls.clear()
        self.handlers.clear()
        self.live_status = 200

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class Fakes(dict):
    """``fakes["orders"]`` etc.; attribute access for brevity (``fakes.orders``)."""

    def __getattr__(self, name: str) -> FakeUpstream:
        return self[name]


class Gateway(Captured):
    """The gateway app, its test client, and what its telemetry recorded."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.app = create_app({**config, **self.telemetry_config})
        self.client = self.app.test_client()

    def close(self) -> None:
        gateway = self.app.extensions["tienda"].service
        for upstream in (gateway.users, gateway.products, gateway.orders, gateway.payments):
            upstream.close()
        for check in self.app.extensions["telemetry"].health.checks.values():
            check.fn.close()  # the readiness probes' sessions
        super().close()


def bearer(user_id: int = 7, role: str = "user", secret: str = SECRET, ttl_seconds: int = 3600) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user_id, role, secret, ttl_seconds)}"}

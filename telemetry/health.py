"""Health endpoints: ``GET /health/live`` and ``GET /health/ready``.

``/health/live`` answers 200 ``{"status": "ok"}`` whenever the process can serve HTTP at all; it runs no
checks, so a slow database never gets a healthy process restarted.

``/health/ready`` runs every check registered for the app, concurrently, each bounded by its own timeout,
and answers::

    200 {"status": "ok",   "checks": {"database": {"status": "ok", "duration_ms": 1.2}}}
    503 {"status": "fail", "checks": {"database": {"status": "fail", "duration_ms": 1000.0,
                                                    "error": "timed out after 1.0 s"}}}

A check is any callable taking no arguments; it passes by returning and fails by raising (the exception's
message becomes ``error``) or by returning ``False``. A dependency the service works without (the message
broker: events wait in the outbox) raises :class:`Degraded` instead: that check reports ``degraded`` and
the endpoint still answers 200, with ``"status": "degraded"``, so the instance keeps its traffic while the
answer says what is missing. Register checks in ``create_app()``::

    telemetry.health.register("database", lambda: engine.connect().close(), app=app)

Neither endpoint makes spans or counts as traffic in the request metrics, and their access log lines are
written at DEBUG, so probes every few seconds do not drown real requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, jsonify

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"


class Degraded(Exception):
    """Raised by a check whose dependency is down while the service still serves (readiness stays 200)."""


@dataclass
class Check:
    name: str
    fn: Callable[[], object]
    timeout_seconds: float


@dataclass
class HealthChecks:
    """The readiness checks of one app."""

    checks: dict[str, Check] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    def register(self, name: str, fn: Callable[[], object], timeout_seconds: float = 1.0) -> None:
        self.checks[name] = Check(name, fn, timeout_seconds)

    def run(self) -> tuple[bool, dict[str, dict[str, object]]]:
        """Run all checks; returns (none failed, per-check results); a degraded check is not a failure."""
        if not self.checks:
            return True, {}
        if self._pool is None:  # made on first use, so in the serving process, never before a fork
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
        started = {c.name: (c, time.perf_counter(), self._pool.submit(_run_one, c.fn)) for c in self.checks.values()}
        results: dict[str, dict[str, object]] = {}
        for name, (check, t0, future) in started.items():
            remaining = max(0.0, check.timeout_seconds - (time.perf_counter() - t0))
            try:
                status, error = future.result(timeout=remaining)
            except FutureTimeout:
                status, error = "fail", f"timed out after {check.timeout_seconds} s"
            result: dict[str, object] = {
                "status": status,
                "duration_ms": round((time.perf_counter() - t0) * 1000, 1),
            }
            if error:
                result["error"] = error
            results[name] = result
        return all(r["status"] != "fail" for r in results.values()), results


def _run_one(fn: Callable[[], object]) -> tuple[str, str | None]:
    try:
        if fn() is False:
            return "fail", "check returned False"
    except Degraded as exc:
        return "degraded", str(exc)[:300]
    except Exception as exc:  # a failing check is a result, not an error of the endpoint
        return "fail", f"{type(exc).__name__}: {exc}"[:300]
    return "ok", None


def register(name: str, fn: Callable[[], object], *, timeout_seconds: float = 1.0, app: Flask | None = None) -> None:
    """Add a readiness check called ``name`` to ``app`` (default: the current app).

    The app must have been passed to :func:`telemetry.instrument` first.
    """
    target = app if app is not None else current_app
    target.extensions["telemetry"].health.register(name, fn, timeout_seconds)


def install(app: Flask, checks: HealthChecks) -> None:
    """Add the two endpoints to ``app``."""

    def live() -> Response:
        return jsonify(status="ok")

    def ready() -> tuple[Response, int]:
        ok, results = checks.run()
        if not ok:
            return jsonify(status="fail", checks=results), 503
        degraded = any(r["status"] == "degraded" for r in results.values())
        return jsonify(status="degraded" if degraded else "ok", checks=results), 200

    app.add_url_rule(LIVE_PATH, "telemetry_health_live", live, methods=["GET"])
    app.add_url_rule(READY_PATH, "telemetry_health_ready", ready, methods=["GET"])

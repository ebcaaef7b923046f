"""Health endpoints: ``GET /health/live`` and ``GET /health/ready``.

``/health/live`` answers 200 ``{"status": "ok"}`` whenever the process can serve HTTP at all; it runs no
checks, so a slow database never gets a healthy process restarted.

``/health/ready`` runs every check registered for the app, concurrently, each bounded by its own timeout,
and answers::

    200 {"status": "ok",   "checks": {"database": {"status": "ok", "duration_ms": 1.2}}}
    503 {"status": "fail", "checks": {"database": {"status": "fail", "duration_ms": 1000.0,
                                                    "error": "timed out after 1.0 s"}}}

A check is any callable taking no arguments; it passes by returning and fails by raising (the exception's
message becomes ``error``) or by returning ``False``. Register checks in ``create_app()``::

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
        """Run all checks; returns (all passed, per-check results)."""
        if not self.checks:
            return True, {}
        if self._pool is None:  # made on first use, so in the serving process, never before a fork
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
        started = {c.name: (c, time.perf_counter(), self._pool.submit(_run_one, c.fn)) for c in self.checks.values()}
        results: dict[str, dict[str, object]] = {}
        for name, (check, t0, future) in started.items():
            remaining = max(0.0, check.timeout_seconds - (time.perf_counter() - t0))
            try:
                error = future.result(timeout=remaining)
            except FutureTimeout:
                error = f"timed out after {check.timeout_seconds} s"
            result: dict[str, object] = {
                "status": "fail" if error else "ok",
                "duration_ms": round((time.perf_counter() - t0) * 1000, 1),
            }
            if error:
                result["error"] = error
            results[name] = result
        return all(r["status"] == "ok" for r in results.values()), results


def _run_one(fn: Callable[[], object]) -> str | None:
    try:
        if fn() is False:
            return "check returned False"
    except Exception as exc:  # a failing check is a result, not an error of the endpoint
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


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
        return jsonify(status="ok" if ok else "fail", checks=results), 200 if ok else 503

    app.add_url_rule(LIVE_PATH, "telemetry_health_live", live, methods=["GET"])
    app.add_url_rule(READY_PATH, "telemetry_health_ready", ready, methods=["GET"])

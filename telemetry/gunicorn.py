"""gunicorn server hooks for instrumented apps; the repository's ``gunicorn.conf.py`` imports them.

The process model is **one worker process with threads** (``gthread``), scaled out by running more
processes or containers behind a load balancer, never by ``--workers``. The reasons:

* Exemplars: prometheus_client's multiprocess mode, which several workers would need for correct metrics,
  cannot store exemplars, and exemplars are how a latency spike in Grafana leads to its trace.
* Memory: one interpreter per service keeps the whole shop well inside its memory budget.
* Simplicity: every metric lives in one registry in one process; nothing to merge, no shared directory
  to wipe, no dead-process bookkeeping.

The hooks enforce and support that model:

``on_starting``
    refuses to start with more than one worker or with ``preload_app`` (either would break metrics or
    start tracing threads in the master, where they do not survive the fork).
``post_worker_init``
    logs which worker serves which app; tracing was started by ``create_app()`` inside this worker.
``worker_exit``
    flushes buffered spans before the worker goes away, so a restart or a deploy loses none.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger  # gunicorn ships no type hints: Any to mypy

import telemetry

logger = logging.getLogger("telemetry.gunicorn")


def logconfig_dict(service: str | None = None) -> dict[str, Any]:
    """A ``logconfig_dict`` that writes gunicorn's own log lines as the same JSON as the app's."""
    service = service or os.environ.get("OTEL_SERVICE_NAME", "gunicorn")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "telemetry.logs.JsonFormatter", "service": service}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        # The app's instrument() call installs the root handler in the worker; none here avoids duplicates.
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class Logger(_GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger, minus the cost of an access log nobody reads.

    With a ``logconfig_dict`` set, gunicorn formats its access-log atoms for every request even when the
    ``gunicorn.access`` logger discards them (about a tenth of a small request's CPU in bench/). The app
    writes its own access line, so this one is only built when that logger is actually enabled.
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)


def on_starting(server: Any) -> None:
    if server.cfg.workers != 1:
        raise RuntimeError(
            f"tienda runs one gunicorn worker per process (got workers={server.cfg.workers}); "
            "scale with threads (GUNICORN_THREADS) or more processes/containers. See telemetry/gunicorn.py."
        )
    if server.cfg.preload_app:
        raise RuntimeError("preload_app must stay off: tracing must start in the worker, not the master")


def post_worker_init(worker: Any) -> None:
    logger.info("worker ready", extra={"event": "gunicorn.worker_ready", "pid": os.getpid()})


def worker_exit(server: Any, worker: Any) -> None:
    telemetry.shutdown()

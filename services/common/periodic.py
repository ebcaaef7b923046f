"""A daemon thread that runs one job now and then every ``interval_seconds``: sweeps, reconcilers, the audit.

The job runs once as soon as the thread starts, then after each interval. An exception from the job is
logged and the loop goes on: a sweep must outlive a database or upstream outage. Tests wait for a number of
finished runs with :meth:`Periodic.wait_for_runs` instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("services.periodic")


class Periodic:
    """Run ``job`` in a daemon thread named ``name``, first at :meth:`start`, then every ``interval_seconds``."""

    def __init__(
        self,
        name: str,
        job: Callable[[], object],
        interval_seconds: float,
        *,
        cleanup: Callable[[], object] | None = None,
    ) -> None:
        """``cleanup`` runs in the loop's thread once the loop ends (closing a connection the job kept open)."""
        self.name = name
        self.job = job
        self.cleanup = cleanup
        self.interval_seconds = interval_seconds
        self.runs = 0
        self._stopping = threading.Event()
        self._ran = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Ask the loop to end and wait (at most ``timeout_seconds``) for a run in progress to finish."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)

    def wait_for_runs(self, count: int, timeout_seconds: float) -> bool:
        """Block until ``count`` runs have finished (or ``timeout_seconds`` pass); True if they have."""
        with self._ran:
            return self._ran.wait_for(lambda: self.runs >= count, timeout_seconds)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.job()
            except Exception:
                log.exception("periodic job failed", extra={"event": "periodic.failed", "job": self.name})
            with self._ran:
                self.runs += 1
                self._ran.notify_all()
            self._stopping.wait(self.interval_seconds)
        if self.cleanup is not None:
            try:
                self.cleanup()
            except Exception:
                log.exception("periodic cleanup failed", extra={"event": "periodic.cleanup_failed", "job": self.name})


def start_every(name: str, job: Callable[[], object], interval_seconds: float) -> tuple[Periodic, ...]:
    """The started loop running ``job`` every ``interval_seconds``, or no loop when the interval is 0 (turned off)."""
    return (Periodic(name, job, interval_seconds).start(),) if interval_seconds > 0 else ()

"""Deadline budgets: how long the request being handled may still take, from the public entry to every hop.

The public entry (the gateway) gives each request a budget; every hop it reaches knows what is left, caps
its own upstream timeouts to it, and refuses to start a call it can no longer finish. A client that has
given up is then never followed by work that nobody waits for, and no hop waits longer than its caller.

The header::

    X-Request-Budget-Ms: 8450

carries the **remaining budget in whole milliseconds**, relative to the moment it is sent, as gRPC's
``grpc-timeout`` does. It is not an absolute deadline on purpose: hosts' clocks disagree (by
milliseconds with NTP, by seconds without), and an absolute timestamp would carry that skew into every
budget, or expire requests before they start. Each hop turns the header into a deadline on its own
monotonic clock as the request arrives (:mod:`telemetry.server`), so only the network transit of one
hop, which no clock sees, is not charged to the budget.

* A hop that receives the header honours it; a malformed value is ignored and logged.
* A public entry, an app instrumented with ``request_budget_seconds`` (or run with
  ``REQUEST_BUDGET_SECONDS``), gives a request without the header that budget, and caps a client's
  header to it, so a client may ask for less time, never more.
* An app that is neither has no deadline for requests without the header, and background work has none
  unless it opens a :func:`budget`.

:class:`telemetry.http.Client` caps each call's connect and read timeouts to :func:`remaining_seconds`,
sends the header (what remains when the call leaves) to internal upstreams only, like the trace headers,
and raises :class:`DeadlineExceeded` without sending when nothing remains, or when a call's timeout ran
out because the budget did.

Work that must finish whether or not anyone still waits for it (giving back a charge or stock that a
failed request took) runs in :func:`detached`: without the request's deadline, bounded by each call's own
timeouts.

Domain code asks :func:`remaining_seconds` (``None``: no deadline), or calls :func:`check` before
expensive work; a service maps :class:`DeadlineExceeded` to 504 like any upstream timeout (it is a
:class:`requests.Timeout`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from time import monotonic

import requests

__all__ = [
    "ENVIRON_KEY",
    "HEADER",
    "DeadlineExceeded",
    "budget",
    "cap_timeout",
    "check",
    "detached",
    "remaining_seconds",
    "spent",
]

HEADER = "X-Request-Budget-Ms"
#: The header as the WSGI environ spells it.
ENVIRON_KEY = "HTTP_X_REQUEST_BUDGET_MS"
#: Larger values are malformed: no request of the shop has a day to live.
MAX_BUDGET_MS = 86_400_000

logger = logging.getLogger("telemetry.deadline")

# The deadline on this process's monotonic clock, or None when the current work has none.
_deadline: ContextVar[float | None] = ContextVar("tienda_deadline", default=None)

Timeout = float | tuple[float | None, float | None] | None


class DeadlineExceeded(requests.Timeout):
    """The request's budget is spent.

    ``sent`` is False when the call was refused before anything was sent (the upstream certainly did
    nothing), True when the budget ran out while waiting for the answer (the outcome is unknown).
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


def remaining_seconds() -> float | None:
    """Seconds left of the current request's budget (0 or less when spent); ``None`` when it has none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - monotonic()


def spent() -> bool:
    """True when the current work has a deadline and it has passed."""
    deadline = _deadline.get()
    return deadline is not None and monotonic() >= deadline


def check(what: str = "the work") -> None:
    """Raise :class:`DeadlineExceeded` (``sent=False``) when the current budget is spent."""
    if spent():
        raise DeadlineExceeded(f"the request's deadline passed before {what}", sent=False)


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Run the block with at most ``seconds`` to spend, or less when the current deadline is sooner.

    For work outside a request (sweeps, recovery, tools) and for a step that must leave time for the next.
    """
    deadline = monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def detached() -> Iterator[None]:
    """Run the block without the current deadline (calls made in it send no budget header)."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


def enter(header: str | None, entry_budget_seconds: float | None) -> Token[float | None] | None:
    """Start the deadline of a request that arrived with ``header`` (the server hooks call this).

    Returns a token for :func:`leave`, or None when the request has no deadline.
    """
    seconds = None if header is None else _parse_ms(header)
    if header is not None and seconds is None:
        logger.warning("ignored a malformed %s", HEADER, extra={"event": "deadline.malformed", "received": header[:32]})
    if entry_budget_seconds is not None:
        seconds = entry_budget_seconds if seconds is None else min(seconds, entry_budget_seconds)
    if seconds is None:
        return None
    return _deadline.set(monotonic() + seconds)


def leave(token: Token[float | None]) -> None:
    _deadline.reset(token)


def header_value(remaining: float) -> str:
    """The header's value for ``remaining`` seconds: whole milliseconds, rounded down, at least 0."""
    return str(max(0, int(remaining * 1000)))


def cap_timeout(timeout: Timeout, remaining: float) -> Timeout:
    """``requests``' ``timeout`` (seconds, or (connect, read), or None) with each part at most ``remaining``."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return (
            remaining if connect is None else min(connect, remaining),
            remaining if read is None else min(read, remaining),
        )
    return remaining if timeout is None else min(timeout, remaining)


def _parse_ms(value: str) -> float | None:
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) > MAX_BUDGET_MS:
        return None
    return int(value) / 1000

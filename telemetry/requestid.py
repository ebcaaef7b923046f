"""Request IDs: accept a well-formed incoming ``X-Request-ID``, otherwise make one.

A request ID is the handle a person uses to find one request across services and log lines, so it is
kept short, printable and safe to echo: 1-128 characters of ``[A-Za-z0-9._:-]``. Anything else (empty,
too long, spaces, quotes, control characters) is replaced by a fresh ID and the replacement is logged.

The current ID lives in a context variable, so log lines written anywhere during a request carry it and
the telemetry HTTP client forwards it to the next service.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
#: The span attribute that carries the request ID (OTel's convention for captured request headers).
SPAN_ATTRIBUTE = "http.request.header.x-request-id"

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_current: ContextVar[str | None] = ContextVar("tienda_request_id", default=None)


def generate() -> str:
    """A new request ID: 32 random hex digits.

    From :mod:`random` (reseeded in every forked child), like the SDK's trace and span IDs: an ID is a handle,
    not a secret, and ``os.urandom`` is a system call, which lets the GIL go to another thread of a busy
    worker in the middle of every request.
    """
    return f"{random.getrandbits(128):032x}"


def is_valid(value: str | None) -> bool:
    """True when ``value`` may be used as a request ID as it is."""
    return value is not None and _VALID.fullmatch(value) is not None


def current() -> str | None:
    """The request ID of the request being handled in this context, if any."""
    return _current.get()


def set_current(value: str | None) -> Token[str | None]:
    """Make ``value`` the current request ID; returns a token for :func:`reset`."""
    return _current.set(value)


def reset(token: Token[str | None]) -> None:
    _current.reset(token)

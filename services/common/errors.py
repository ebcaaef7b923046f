"""Domain errors and the one place they become HTTP responses.

Domain code raises these (no Flask in sight); :func:`install` maps them to the project's JSON error body
(``telemetry.errors.error_response``), so every service answers errors the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any

import requests
from flask import Flask, Response
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from telemetry.errors import error_response
from telemetry.resilience import Rejected, never_arrived


class DomainError(Exception):
    """An expected failure of a request, answered as ``status`` with the project's error body
    (``telemetry.errors.error_response``: ``{"error": {"code", "message", "request_id"[, "details"]}}``).

    A subclass names its answer on its first line, ``class SkuTaken(Conflict, code="sku_taken")``, and says in
    its docstring when it is raised; ``status`` and ``code`` are inherited unless given. An instance may refine
    ``code`` (``Unauthorized(..., code="token_expired")``); a few subclasses also set ``status`` per instance
    (:class:`UpstreamFailure`).
    """

    status = 400
    code = "bad_request"
    #: Headers the error's answer carries besides the JSON body.
    headers: Mapping[str, str] = MappingProxyType({})

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError, status=422, code="invalid_input"):
    """The request breaks a rule of the contract or the domain; ``details``, when given, names the fields."""


class BadRequest(DomainError, status=400, code="bad_request"):
    """The request cannot be taken as it is written: an unreadable body, or a query outside what the route reads."""


class Unauthorized(DomainError, status=401, code="unauthorized"):
    """The request carries no credentials, or credentials that are not valid."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The caller is known but not allowed to do this."""


class NotFound(DomainError, status=404, code="not_found"):
    """The thing the request names does not exist."""


class Conflict(DomainError, status=409, code="conflict"):
    """The request is valid but the current state does not allow it."""


class PaymentDeclined(DomainError, status=402, code="card_declined"):
    """The card was declined; ``code`` says why (:data:`services.payments.contract.DECLINE_CODES`)."""


class Failure(Enum):
    """How a call to another service failed."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"


#: Failure kind -> (status, code, message template). The only place upstream failures become statuses, for
#: orders and the gateway alike.
FAILURES: dict[Failure, tuple[int, str, str]] = {
    Failure.UNREACHABLE: (503, "upstream_unavailable", "The {upstream} service is unavailable."),
    Failure.TIMEOUT: (504, "upstream_timeout", "The {upstream} service did not answer in time."),
    Failure.SERVER_ERROR: (502, "upstream_error", "The {upstream} service failed to handle the request."),
    Failure.BAD_RESPONSE: (502, "upstream_error", "The {upstream} service sent an invalid response."),
}


class UpstreamFailure(DomainError):
    """A service we call could not give a usable answer: unreachable (503 ``upstream_unavailable``), too slow
    (504 ``upstream_timeout``), failed with a 5xx or answered outside its contract (502 ``upstream_error``).

    ``upstream`` names the service; ``message`` replaces the template of :data:`FAILURES` when the caller knows
    more. :attr:`outcome_unknown` is False only when the request certainly never arrived.
    ``retry_after_seconds`` (an open circuit breaker, a full bulkhead) becomes the answer's ``Retry-After``.
    """

    def __init__(
        self, upstream: str, kind: Failure, message: str | None = None, *, retry_after_seconds: float | None = None
    ) -> None:
        status, code, template = FAILURES[kind]
        super().__init__(message or template.format(upstream=upstream), code=code, details={"upstream": upstream})
        self.status = status
        self.upstream = upstream
        self.kind = kind
        self.retry_after_seconds = retry_after_seconds

    @property
    def outcome_unknown(self) -> bool:
        """Whether the request may have had an effect: every failure but an unreachable upstream."""
        return self.kind is not Failure.UNREACHABLE


def classify(exc: requests.RequestException) -> Failure:
    """Which :class:`Failure` a transport error of :class:`telemetry.http.Client` (a ``requests`` error) is.

    Refused connections, DNS failures, connect timeouts and calls refused by the client's own breaker or
    bulkhead (:class:`telemetry.resilience.Rejected`) never reached the upstream (``UNREACHABLE``); a read
    timeout is ``TIMEOUT``; a connection that broke after the request was sent is ``BAD_RESPONSE``.
    """
    if never_arrived(exc):  # before Timeout: ConnectTimeout is both kinds
        return Failure.UNREACHABLE
    if isinstance(exc, requests.Timeout):
        return Failure.TIMEOUT
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        if isinstance(reason, ReadTimeoutError):  # the read timed out while the body was streaming
            return Failure.TIMEOUT
    return Failure.BAD_RESPONSE


def upstream_failure(upstream: str, exc: requests.RequestException) -> UpstreamFailure:
    """The :class:`UpstreamFailure` a transport error calling ``upstream`` is."""
    retry_after = exc.retry_after_seconds if isinstance(exc, Rejected) else None
    return UpstreamFailure(upstream, classify(exc), retry_after_seconds=retry_after)


def install(app: Flask) -> None:
    def handle(exc: DomainError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, details=exc.details)
        response.headers.update(exc.headers)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        retry_after = getattr(exc, "retry_after_seconds", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response

    app.register_error_handler(DomainError, handle)

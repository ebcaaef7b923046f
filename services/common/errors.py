"""Domain errors and the one place they become HTTP responses.

Domain code raises these (no Flask in sight); :func:`install` maps them to the project's JSON error body
(``telemetry.errors.error_response``), so every service answers errors the same way.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from telemetry.errors import error_response


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    status, code = 422, "invalid_input"


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PaymentDeclined(DomainError):
    status, code = 402, "card_declined"


class UpstreamUnavailable(DomainError):
    """A service we depend on could not be reached (503) or timed out (504) or failed (502)."""

    status, code = 503, "upstream_unavailable"

    def __init__(self, message: str, *, status: int = 503, code: str | None = None, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status


def install(app: Flask) -> None:
    def handle(exc: DomainError):
        response = error_response(exc.status, exc.code, exc.message, details=exc.details)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    app.register_error_handler(DomainError, handle)
